import AsyncHTTPClient
import Foundation
import GatehouseCore
import NIOCore
import NIOHTTP1

/// A running `gatehouse gateway` on a free loopback port, for tests.
public final class GatewayProcess: Sendable {
    public let process: ChildProcess
    /// `http://127.0.0.1:PORT`.
    public let baseURL: String
    /// The operator token it created.
    public let token: String

    /// Starts the gateway on `home` and waits until it listens.
    public static func start(home: String, arguments: [String] = [], environment: [String: String] = [:]) async throws -> GatewayProcess {
        var env = environment
        if env["GATEHOUSE_LOG_LEVEL"] == nil { env["GATEHOUSE_LOG_LEVEL"] = "info" }
        let child = try ChildProcess(productPath("gatehouse"), ["gateway", "--port", "0", "--home", home] + arguments, environment: env)
        for _ in 0..<400 {
            if let line = child.stderrSoFar.split(separator: "\n").first(where: { $0.contains("gateway listening on ") }),
                let url = line.split(separator: " ").first(where: { $0.hasPrefix("http://") })
            {
                let token = try String(contentsOfFile: home + "/gateway-token", encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
                return GatewayProcess(process: child, baseURL: String(url), token: token)
            }
            if !child.process.isRunning { break }
            try await Task.sleep(for: .milliseconds(25))
        }
        child.signal(SIGKILL)
        throw MockProviderError(description: "the gateway did not start: \(child.stderrSoFar)")
    }

    private init(process: ChildProcess, baseURL: String, token: String) {
        self.process = process
        self.baseURL = baseURL
        self.token = token
    }

    /// Runs `body` with a started gateway and stops it afterwards (SIGTERM, then waits).
    public static func with<T>(
        home: String, arguments: [String] = [], environment: [String: String] = [:], isolation: isolated (any Actor)? = #isolation,
        _ body: (GatewayProcess) async throws -> T
    ) async throws -> T {
        let gateway = try await start(home: home, arguments: arguments, environment: environment)
        do {
            let result = try await body(gateway)
            await gateway.stop()
            return result
        } catch {
            await gateway.stop()
            throw error
        }
    }

    /// Stops the gateway gracefully and waits for it to exit.
    @discardableResult
    public func stop() async -> ProcessResult {
        process.signal(SIGTERM)
        return await process.wait()
    }

    /// What the gateway answered.
    public struct Answer: Sendable {
        public var status: Int
        public var headers: HTTPHeaders
        public var body: String
        public var json: JSONValue? { try? JSONValue.parse(body) }
    }

    /// Sends a request with the token (unless `token` is given) and collects the whole answer.
    public func send(
        _ method: HTTPMethod = .POST, _ path: String, body: String? = nil, token: String? = nil, headers: [(String, String)] = [],
        authHeader: String = "authorization"
    ) async throws -> Answer {
        var request = HTTPClientRequest(url: baseURL + path)
        request.method = method
        let presented = token ?? self.token
        if !presented.isEmpty {
            request.headers.add(name: authHeader, value: authHeader == "authorization" ? "Bearer \(presented)" : presented)
        }
        request.headers.add(name: "content-type", value: "application/json")
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        if let body { request.body = .bytes(ByteBuffer(string: body)) }
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(30))
        var collected = ByteBuffer()
        do {
            for try await var chunk in response.body { collected.writeBuffer(&chunk) }
        } catch {
            collected.writeString("\n<<transport error: \(error)>>")
        }
        return Answer(status: Int(response.status.code), headers: response.headers, body: String(buffer: collected))
    }
}
