import AsyncHTTPClient
import GatehouseCore
import Glibc
import NIOCore
import NIOHTTP1

/// A running `gatehouse-mock-upstream` (the root package's fake provider) on a free loopback port,
/// and its admin endpoints: accounts and counters.
///
/// Main-actor isolated like the benchmarks that use it: starting it blocks on its output pipe.
@MainActor
final class MockUpstreamProcess {
    /// The mock's executable.
    let executable: String
    /// `http://127.0.0.1:PORT`, as the mock printed it.
    let baseURL: String
    private let process: ChildProcess

    /// The process id of the mock.
    var pid: pid_t { process.pid }

    /// Starts `executable --port 0` and waits for its `listening on http://127.0.0.1:PORT` line.
    init(executable: String) throws {
        guard access(executable, X_OK) == 0 else {
            throw BenchError(
                "no executable at \(executable): build it in the root package with "
                    + "`swift build -c release --product gatehouse-mock-upstream`, or pass --mock PATH")
        }
        self.executable = executable
        process = try ChildProcess(executable: executable, arguments: ["--port", "0"])
        let prefix = "listening on "
        guard let line = try process.readLine(), line.hasPrefix(prefix) else {
            let status = process.wait()
            throw BenchError("\(executable) did not start (exit status \(status)); see its messages above")
        }
        baseURL = String(line.dropFirst(prefix.count))
    }

    /// The mock of the root package's release build, found from this executable's path
    /// (`<root>/Benchmarks/.build/.../gatehouse-bench` gives `<root>/.build/release/gatehouse-mock-upstream`).
    static func defaultExecutable() -> String? {
        let bench = ChildProcess.currentExecutable()
        guard let range = bench.firstRange(of: "/Benchmarks/.build/") else { return nil }
        return String(bench[..<range.lowerBound]) + "/.build/release/gatehouse-mock-upstream"
    }

    /// Stops the mock (`SIGTERM`, then `SIGKILL` after 5 s) and returns its exit code.
    func stop() -> Int32 {
        process.stop()
    }

    /// `POST /admin/oauth/account`: a logged-in account on the mock, with its first tokens.
    func createAccount(email: String) async throws -> (access: String, refresh: String) {
        let answer = try await call(.POST, "/admin/oauth/account", body: ["email": .string(email)])
        guard let access = answer["access_token"]?.stringValue, let refresh = answer["refresh_token"]?.stringValue else {
            throw BenchError("the mock's /admin/oauth/account answered without tokens: \(answer.serializedString(pretty: false).prefix(200))")
        }
        return (access, refresh)
    }

    /// `GET /admin/counters`: every counter of the mock (a counter never incremented is absent: 0).
    func counters() async throws -> [String: Int] {
        let answer = try await call(.GET, "/admin/counters", body: nil)
        guard let object = answer.objectValue else { throw BenchError("the mock's /admin/counters is not a JSON object") }
        return object.compactMapValues { $0.intValue.map { Int($0) } }
    }

    private func call(_ method: HTTPMethod, _ path: String, body: JSONValue?) async throws -> JSONValue {
        var request = HTTPClientRequest(url: baseURL + path)
        request.method = method
        if let body {
            request.headers.add(name: "content-type", value: "application/json")
            request.body = .bytes(ByteBuffer(bytes: body.serialized(pretty: false)))
        }
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(10))
        let bytes = Array(try await response.body.collect(upTo: 1 << 20).readableBytesView)
        guard response.status == .ok, let json = try? JSONValue.parse(bytes) else {
            throw BenchError("\(method) \(baseURL)\(path): HTTP \(response.status.code): \(String(decoding: bytes.prefix(200), as: UTF8.self))")
        }
        return json
    }
}
