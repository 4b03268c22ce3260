import GatehouseCore
import GatehouseHTTP
import GatehouseStore
import Hummingbird
import Logging
import NIOCore
import ServiceLifecycle
import Synchronization

/// The two interactive OAuth flows of `gatehouse auth login`.
struct OAuthLoginFlow {
    let definition: OAuthDefinition
    let endpoint: HTTPTokenEndpoint
    let timeout: Duration

    /// What came back to the loopback listener.
    private struct Callback: Sendable {
        var code: String?
        var state: String?
        var error: String?
        var errorDescription: String?
    }

    /// Authorization code with PKCE: `show` gets the URL to open; a listener on 127.0.0.1 takes the
    /// redirect.
    func authorizationCode(show: @escaping @Sendable (String) -> Void) async throws -> TokenResponse {
        let pkce = PKCE.generate()
        let (callbacks, continuation) = AsyncStream.makeStream(of: Callback.self, bufferingPolicy: .bufferingNewest(1))
        let (ports, portContinuation) = AsyncStream.makeStream(of: Int.self, bufferingPolicy: .bufferingNewest(1))
        let router = Router()
        router.get("/callback") { request, _ -> Response in
            let query = request.uri.queryParameters
            continuation.yield(Callback(
                code: query["code"].map(String.init), state: query["state"].map(String.init),
                error: query["error"].map(String.init), errorDescription: query["error_description"].map(String.init)))
            let page = query["error"] == nil
                ? "<html><body><h1>Gatehouse</h1><p>Logged in. You can close this window.</p></body></html>"
                : "<html><body><h1>Gatehouse</h1><p>The login did not complete. See the terminal.</p></body></html>"
            return Response(status: .ok, headers: [.contentType: "text/html; charset=utf-8"], body: .init(byteBuffer: ByteBuffer(string: page)))
        }
        var quiet = Logger(label: "gatehouse.login")
        quiet.logLevel = .critical
        let app = Application(
            router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0), serverName: "gatehouse-login"),
            onServerRunning: { channel in portContinuation.yield(channel.localAddress?.port ?? 0) }, logger: quiet)
        let group = ServiceGroup(services: [app], gracefulShutdownSignals: [], logger: quiet)

        return try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            let outcome: Result<TokenResponse, any Error>
            do {
                outcome = .success(try await waitForRedirect(pkce: pkce, ports: ports, callbacks: callbacks, show: show))
            } catch {
                outcome = .failure(error)
            }
            // A graceful stop lets the browser's request get its page before the listener closes.
            await group.triggerGracefulShutdown()
            try await tasks.waitForAll()
            return try outcome.get()
        }
    }

    private func waitForRedirect(
        pkce: PKCE, ports: AsyncStream<Int>, callbacks: AsyncStream<Callback>, show: @escaping @Sendable (String) -> Void
    ) async throws -> TokenResponse {
        guard let port = await ports.first(where: { _ in true }) else { throw LoginError("the local listener did not start") }
        let redirect = "http://127.0.0.1:\(port)/callback"
        var query: [(String, String)] = [
            ("response_type", "code"), ("client_id", definition.clientID), ("redirect_uri", redirect),
            ("code_challenge", pkce.challenge), ("code_challenge_method", "S256"), ("state", pkce.state),
        ]
        if !definition.scopes.isEmpty { query.append(("scope", definition.scopes.joined(separator: " "))) }
        let base = definition.authorizeURL!
        show(base + (base.contains("?") ? "&" : "?") + FormEncoding.encode(query))

        let callback: Callback?
        do {
            callback = try await withTimeout(timeout) { await callbacks.first(where: { _ in true }) }
        } catch is TimeoutError {
            throw LoginError("the browser did not come back within \(timeout); run the login again")
        }
        guard let callback else { throw LoginError("the listener stopped before the browser came back") }
        if let error = callback.error {
            throw LoginError("the provider did not authorize the login: \(error)\(callback.errorDescription.map { " (\($0))" } ?? "")")
        }
        guard callback.state == pkce.state else {
            throw LoginError("the redirect's state does not match this login (a stale or forged redirect); nothing was stored. Run the login again")
        }
        guard let code = callback.code, !code.isEmpty else { throw LoginError("the redirect carried no authorization code") }
        switch try await endpoint.exchange(code: code, verifier: pkce.verifier, redirectURI: redirect, definition: definition, state: pkce.state) {
        case .tokens(let tokens): return tokens
        case .failure(let error): throw LoginError("the token endpoint refused the code: \(error.code ?? "HTTP \(error.status)"): \(error.description)")
        }
    }

    /// Device authorization: `show` gets the code to enter; polls at the server's interval and slows
    /// down when asked.
    func device(show: @Sendable (DeviceAuthorization) -> Void) async throws -> TokenResponse {
        let authorization = try await endpoint.startDeviceAuthorization(definition: definition)
        show(authorization)
        var interval = max(1, authorization.interval)
        let deadline = ContinuousClock.now + min(timeout, .seconds(authorization.expiresIn))
        while ContinuousClock.now < deadline {
            try await Task.sleep(for: .seconds(interval))
            switch try await endpoint.pollDevice(code: authorization.deviceCode, definition: definition) {
            case .tokens(let tokens):
                return tokens
            case .failure(let error):
                switch error.code {
                case "authorization_pending": continue
                case "slow_down": interval += 5
                case "access_denied": throw LoginError("the login was denied on the provider's page")
                case "expired_token": throw LoginError("the code expired before it was approved; run the login again")
                default: throw LoginError("the token endpoint answered \(error.code ?? "HTTP \(error.status)"): \(error.description)")
                }
            }
        }
        throw LoginError("no approval within \(timeout); run the login again")
    }
}

/// A login that did not complete, with what to do.
struct LoginError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
