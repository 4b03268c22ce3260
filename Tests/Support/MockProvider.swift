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

public struct MockProviderError: Error, CustomStringConvertible {
    public var description: String
    public init(description: String) { self.description = description }
}
