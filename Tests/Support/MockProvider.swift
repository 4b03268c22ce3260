import AsyncHTTPClient
import Foundation
import GatehouseCore
import NIOCore
import NIOHTTP1

/// A running `gatehouse-mock-upstream` on a free loopback port, for tests.
public final class MockProvider: Sendable {
    public let process: ChildProcess
    /// `http://127.0.0.1:PORT`.
    public let baseURL: String

    /// Starts the mock and waits until it listens.
    public static func start(_ arguments: [String] = []) async throws -> MockProvider {
        let child = try ChildProcess(productPath("gatehouse-mock-upstream"), ["--port", "0"] + arguments)
        for _ in 0..<200 {
            if let line = child.stdoutSoFar.split(separator: "\n").first(where: { $0.hasPrefix("listening on ") }) {
                return MockProvider(process: child, baseURL: String(line.dropFirst("listening on ".count)))
            }
            try await Task.sleep(for: .milliseconds(25))
        }
        child.signal(SIGKILL)
        throw MockProviderError(description: "gatehouse-mock-upstream did not start: \(await child.wait().stderr)")
    }

    private init(process: ChildProcess, baseURL: String) {
        self.process = process
        self.baseURL = baseURL
    }

    /// Stops the mock.
    public func stop() {
        process.signal(SIGKILL)
    }

    /// Runs `body` with a fresh mock and stops it afterwards.
    public static func with<T>(
        _ arguments: [String] = [], isolation: isolated (any Actor)? = #isolation, _ body: (MockProvider) async throws -> T
    ) async throws -> T {
        let mock = try await start(arguments)
        defer { mock.stop() }
        return try await body(mock)
    }

    /// POSTs JSON to the mock and returns the JSON answer.
    @discardableResult
    public func post(_ path: String, _ body: JSONValue = [:]) async throws -> JSONValue {
        var request = HTTPClientRequest(url: baseURL + path)
        request.method = .POST
        request.headers.add(name: "content-type", value: "application/json")
        request.body = .bytes(ByteBuffer(bytes: body.serialized(pretty: false)))
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(10))
        let bytes = try await response.body.collect(upTo: 1 << 20)
        return try JSONValue.parse(Array(bytes.readableBytesView))
    }

    /// GETs a path and returns its status, headers and body.
    public func get(_ path: String) async throws -> (status: Int, location: String?, body: String) {
        let response = try await HTTPClient.shared.execute(HTTPClientRequest(url: baseURL + path), timeout: .seconds(10))
        let bytes = try await response.body.collect(upTo: 1 << 20)
        return (Int(response.status.code), response.headers.first(name: "location"), String(buffer: bytes))
    }

    /// The mock's counters (`oauth.refresh`, `oauth.invalid_grant`, ...), zero when absent.
    public func counters() async throws -> [String: Int] {
        let response = try await HTTPClient.shared.execute(HTTPClientRequest(url: baseURL + "/admin/counters"), timeout: .seconds(10))
        let bytes = try await response.body.collect(upTo: 1 << 20)
        let json = try JSONValue.parse(Array(bytes.readableBytesView))
        return (json.objectValue ?? [:]).compactMapValues { $0.intValue.map(Int.init) }
    }

    /// A logged-in account: its access and refresh tokens.
    public func account(email: String = "user@example.com") async throws -> (access: String, refresh: String) {
        let json = try await post("/admin/oauth/account", ["email": .string(email)])
        return (json["access_token"]!.stringValue!, json["refresh_token"]!.stringValue!)
    }

    /// A `gatehouse.json` provider entry named `id` whose OAuth endpoints are this mock's.
    public func providerEntry(encoding: String = "form") -> JSONValue {
        [
            "baseUrl": .string(baseURL + "/v1"), "api": "openai-chat",
            "oauth": [
                "tokenUrl": .string(baseURL + "/oauth/token"), "clientId": "gatehouse-test", "encoding": .string(encoding),
                "authorizeUrl": .string(baseURL + "/oauth/authorize"), "deviceAuthorizationUrl": .string(baseURL + "/oauth/device/code"),
            ],
        ]
    }
}

extension MockProvider {
    /// Sends any request to the mock and reads the answer to its end, or to the point where the
    /// connection failed (a cut stream): the bytes that came are kept and the failure is reported in
    /// `bodyError` rather than thrown.
    public func send(
        method: String = "POST", path: String, headers: [(String, String)] = [], body: [UInt8] = []
    ) async throws -> MockHTTPResponse {
        var request = HTTPClientRequest(url: baseURL + path)
        request.method = HTTPMethod(rawValue: method)
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        if !body.isEmpty {
            if !headers.contains(where: { $0.0.lowercased() == "content-type" }) {
                request.headers.add(name: "content-type", value: "application/json")
            }
            request.body = .bytes(ByteBuffer(bytes: body))
        }
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(10))
        var bytes: [UInt8] = []
        var bodyError: String?
        do {
            for try await chunk in response.body { bytes += chunk.readableBytesView }
        } catch {
            bodyError = String(describing: error)
        }
        return MockHTTPResponse(
            status: Int(response.status.code), headers: response.headers.map { ($0.name.lowercased(), $0.value) }, body: bytes,
            bodyError: bodyError)
    }

    /// Sends a JSON body (with `content-type: application/json`).
    public func send(method: String = "POST", path: String, headers: [(String, String)] = [], json: JSONValue) async throws -> MockHTTPResponse {
        try await send(method: method, path: path, headers: headers, body: json.serialized(pretty: false))
    }

    /// GETs a path and parses its JSON answer.
    public func getJSON(_ path: String) async throws -> JSONValue {
        let response = try await send(method: "GET", path: path)
        guard let json = response.json else { throw MockProviderError(description: "GET \(path): not JSON: \(response.text)") }
        return json
    }

    /// Sets what the model routes do for `key` (`POST /admin/keys`): `["status": 429, "retryAfter": "2", "times": 1]`.
    public func setKeyBehaviour(_ key: String, _ behaviour: [String: JSONValue]) async throws {
        var body = behaviour
        body["key"] = .string(key)
        let response = try await send(path: "/admin/keys", json: .object(body))
        guard response.status == 200 else { throw MockProviderError(description: "POST /admin/keys: \(response.status) \(response.text)") }
    }
}

/// An answer of the mock, as `MockProvider.send` read it.
public struct MockHTTPResponse: Sendable {
    public var status: Int
    /// Names lowercased, in the order received.
    public var headers: [(String, String)]
    public var body: [UInt8]
    /// Why the body ended early (the connection closed mid-answer); `nil` after a clean end.
    public var bodyError: String?

    public init(status: Int, headers: [(String, String)], body: [UInt8], bodyError: String?) {
        self.status = status
        self.headers = headers
        self.body = body
        self.bodyError = bodyError
    }

    /// The first value of a header (name in any case).
    public func header(_ name: String) -> String? {
        let name = name.lowercased()
        return headers.first { $0.0 == name }?.1
    }

    public var text: String { String(decoding: body, as: UTF8.self) }

    /// The body parsed as JSON, or `nil`.
    public var json: JSONValue? { try? JSONValue.parse(body) }

    /// The complete server-sent events of the body, in order: each event's name (`nil` without an
    /// `event:` line) and its `data:` text. A last event without its blank line is left out.
    public var events: [(event: String?, data: String)] {
        let text = self.text
        var blocks = text.split(separator: "\n\n", omittingEmptySubsequences: true)
        if !text.hasSuffix("\n\n"), !blocks.isEmpty { blocks.removeLast() }
        return blocks.map { block in
            var name: String?
            var data: [Substring] = []
            for line in block.split(separator: "\n") {
                if line.hasPrefix("event: ") { name = String(line.dropFirst(7)) }
                if line.hasPrefix("data: ") { data.append(line.dropFirst(6)) }
            }
            return (name, data.joined(separator: "\n"))
        }
    }
}

public struct MockProviderError: Error, CustomStringConvertible {
    public var description: String
    public init(description: String) { self.description = description }
}
