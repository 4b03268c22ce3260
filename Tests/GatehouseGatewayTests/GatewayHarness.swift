import AsyncHTTPClient
import Foundation
import GatehouseCore
import GatehouseStore
import GatehouseTestSupport
import NIOCore
import NIOHTTP1
import NIOPosix
import Testing

/// One test's world: a temporary home whose `openai` and `anthropic` providers point at a running
/// mock, with profiles added through the real CLI.
struct GatewayWorld {
    let directory: TemporaryDirectory
    let mock: MockProvider

    var home: String { directory.home.path }
    var gatehouseHome: GatehouseHome { directory.home }

    /// Writes `gatehouse.json`: `openai` at `<mock>/v1`, `anthropic` at `<mock>` (both needing a
    /// credential), plus `extra`
    /// provider entries (which replace those two when they use the same id).
    static func make(
        _ directory: TemporaryDirectory, mock: MockProvider, extraProviders: [String: JSONValue] = [:], extra: [String: JSONValue] = [:]
    ) throws -> GatewayWorld {
        let world = GatewayWorld(directory: directory, mock: mock)
        try world.gatehouseHome.create()
        var providers: [String: JSONValue] = [
            // They stand in for the cloud providers: a credential is needed although the mock is on loopback.
            "openai": ["baseUrl": .string(mock.baseURL + "/v1"), "requiresAuth": true],
            "anthropic": ["baseUrl": .string(mock.baseURL), "requiresAuth": true],
        ]
        for (id, entry) in extraProviders { providers[id] = entry }
        var config: [String: JSONValue] = ["providers": .object(providers)]
        for (key, value) in extra { config[key] = value }
        try AtomicFile.write(JSONValue.object(config).serialized(), to: world.gatehouseHome.configurationPath)
        return world
    }

    /// `gatehouse auth add <provider> --name <name> --api-key-stdin` with `key`.
    func addKey(_ provider: String, _ name: String, key: String) async throws {
        let result = try await gatehouse(home: home, ["auth", "add", provider, "--name", name, "--api-key-stdin"], stdin: key)
        try #require(result.status == 0, "auth add \(provider) \(name): \(result.stderr)")
    }

    /// `gatehouse auth order <provider> <ids...>`.
    func order(_ provider: String, _ ids: [String]) async throws {
        let result = try await gatehouse(home: home, ["auth", "order", provider] + ids)
        try #require(result.status == 0, "auth order: \(result.stderr)")
    }

    /// Runs the CLI and requires success.
    @discardableResult
    func cli(_ arguments: [String], stdin: String? = nil) async throws -> ProcessResult {
        let result = try await gatehouse(home: home, arguments, stdin: stdin)
        try #require(result.status == 0, "gatehouse \(arguments.joined(separator: " ")): \(result.stderr)")
        return result
    }

    // MARK: Files

    func readJSON(_ path: String) -> JSONValue? {
        guard let data = FileManager.default.contents(atPath: path) else { return nil }
        return try? JSONValue.parse(Array(data))
    }

    /// Rewrites `gatehouse.json` with `change` applied to the entry of provider `id` (atomically,
    /// as an editor that saves through a temporary file does).
    func editProvider(_ id: String, _ change: (inout [String: JSONValue]) -> Void) throws {
        let path = gatehouseHome.configurationPath
        guard case .object(var root)? = readJSON(path), case .object(var providers)? = root["providers"] else {
            throw MockProviderError(description: "\(path) has no providers object")
        }
        var entry = providers[id]?.objectValue ?? [:]
        change(&entry)
        providers[id] = .object(entry)
        root["providers"] = .object(providers)
        try AtomicFile.write(JSONValue.object(root).serialized(), to: path)
    }

    /// `auth-state.json` of the main agent.
    var authState: JSONValue? { readJSON(gatehouseHome.authStatePath("main")) }
    /// `auth-profiles.json` of the main agent.
    var authProfiles: JSONValue? { readJSON(gatehouseHome.authProfilesPath("main")) }
    /// `sessions.json` of the main agent.
    var sessions: JSONValue? { readJSON(gatehouseHome.sessionsPath("main")) }

    func stats(_ profile: String) -> JSONValue? { authState?["usageStats"]?[profile] }

    func pin(_ session: String) -> (profile: String?, source: String?) {
        let entry = sessions?["sessions"]?[session]
        return (entry?["authProfileOverride"]?.stringValue, entry?["authProfileOverrideSource"]?.stringValue)
    }

    /// Per-key request count of the mock (`chat.requests.<key>` or `messages.requests.<key>`).
    func calls(_ key: String, wire: String = "chat") async throws -> Int {
        try await mock.counters()["\(wire).requests.\(key)"] ?? 0
    }

    /// The mock's `GET /admin/last-request`.
    func lastRequest() async throws -> JSONValue {
        try await mock.getJSON("/admin/last-request")
    }
}

/// Request bodies.
enum Body {
    static func chat(_ model: String, stream: Bool = false) -> String {
        var body: JSONValue = ["model": .string(model), "messages": [["role": "user", "content": "Say hello."]]]
        if stream, case .object(var object) = body {
            object["stream"] = true
            body = .object(object)
        }
        return body.serializedString(pretty: false)
    }

    static func messages(_ model: String, stream: Bool = false) -> String {
        var object: [String: JSONValue] = [
            "model": .string(model), "max_tokens": 64, "messages": [["role": "user", "content": "Say hello."]],
        ]
        if stream { object["stream"] = true }
        return JSONValue.object(object).serializedString(pretty: false)
    }
}

extension GatewayProcess.Answer {
    func header(_ name: String) -> String? { headers.first(name: name) }

    /// Server-sent events of the body: each event's name (nil without `event:`) and its data.
    var events: [(event: String?, data: String)] {
        body.replacingOccurrences(of: "\r\n", with: "\n").components(separatedBy: "\n\n").compactMap { block in
            var name: String?
            var data: [String] = []
            for line in block.split(separator: "\n") {
                if line.hasPrefix("event:") { name = line.dropFirst(6).trimmingCharacters(in: .whitespaces) }
                if line.hasPrefix("data:") { data.append(line.dropFirst(5).trimmingCharacters(in: .whitespaces)) }
            }
            if name == nil && data.isEmpty { return nil }
            return (name, data.joined(separator: "\n"))
        }
    }

    /// The `error.message` of a wire error body (either format).
    var errorMessage: String? { json?["error"]?["message"]?.stringValue }
}

/// Milliseconds since the epoch.
func nowMillis() -> Int64 { WallClock.nowMillis() }

/// Runs `body` in a fresh home with a fresh mock.
func withWorld<T>(
    extraProviders: @escaping (MockProvider) -> [String: JSONValue] = { _ in [:] },
    isolation: isolated (any Actor)? = #isolation,
    _ body: (GatewayWorld) async throws -> T
) async throws -> T {
    try await withTemporaryDirectory { dir in
        try await MockProvider.with { mock in
            let world = try GatewayWorld.make(dir, mock: mock, extraProviders: extraProviders(mock))
            return try await body(world)
        }
    }
}

/// A loopback upstream that answers every request in one write (head, whole chunked body and its
/// end in one `writev`), so that the gateway reads the answer whole in one read: what a short
/// answer from a fast provider looks like. `answer` gives the body for a request's credential.
struct OneWriteUpstream {
    let baseURL: String

    static func with<T>(
        contentType: String, answer: @escaping @Sendable (_ credential: String?) -> String, isolation: isolated (any Actor)? = #isolation,
        _ body: (OneWriteUpstream) async throws -> T
    ) async throws -> T {
        let server = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline()
                    try channel.pipeline.syncOperations.addHandler(Handler(contentType: contentType, answer: answer))
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        do {
            let value = try await body(OneWriteUpstream(baseURL: "http://127.0.0.1:\(server.localAddress!.port!)"))
            try? await server.close()
            return value
        } catch {
            try? await server.close()
            throw error
        }
    }

    private final class Handler: ChannelInboundHandler {
        typealias InboundIn = HTTPServerRequestPart
        typealias OutboundOut = HTTPServerResponsePart
        let contentType: String
        let answer: @Sendable (String?) -> String
        private var credential: String?

        init(contentType: String, answer: @escaping @Sendable (String?) -> String) {
            self.contentType = contentType
            self.answer = answer
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            switch unwrapInboundIn(data) {
            case .head(let head):
                credential = head.headers.first(name: "authorization") ?? head.headers.first(name: "x-api-key")
            case .body:
                break
            case .end:
                // No Content-Length: the encoder frames the body chunked, as providers stream.
                let head = HTTPResponseHead(version: .http1_1, status: .ok, headers: ["content-type": contentType])
                context.write(wrapOutboundOut(.head(head)), promise: nil)
                context.write(wrapOutboundOut(.body(.byteBuffer(ByteBuffer(string: answer(credential))))), promise: nil)
                context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
            }
        }
    }
}
