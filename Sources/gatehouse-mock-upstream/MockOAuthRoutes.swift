import GatehouseCore
import GatehouseStore
import Hummingbird
import Synchronization

/// The OAuth endpoints: token (refresh, authorization code, device code), authorize, device code.
struct MockOAuthRoutes: Sendable {
    let state: MockState

    func add(to router: Router<BasicRequestContext>) {
        router.post("/oauth/token") { request, _ in try await self.token(request) }
        router.get("/oauth/authorize") { request, _ in self.authorize(request) }
        router.post("/oauth/device/code") { request, _ in try await self.deviceCode(request) }
    }

    private func token(_ request: Request) async throws -> Response {
        let parameters = try await request.parameters()
        let latency = state.state.withLock { $0.settings.tokenLatencyMilliseconds }
        if latency > 0 { try await Task.sleep(for: .milliseconds(latency)) }
        let now = WallClock.nowMillis()
        let grant = parameters["grant_type"] ?? ""
        return state.state.withLock { state -> Response in
            state.counters["oauth.token", default: 0] += 1
            if !state.settings.tokenFaults.isEmpty {
                let status = state.settings.tokenFaults.removeFirst()
                state.counters["oauth.token.fault", default: 0] += 1
                return .oauthError("server_error", "injected fault", status: HTTPResponse.Status(code: status))
            }
            switch grant {
            case "refresh_token":
                state.counters["oauth.refresh", default: 0] += 1
                guard let token = parameters["refresh_token"], let entry = state.refreshTokens[token] else {
                    state.counters["oauth.invalid_grant", default: 0] += 1
                    return .oauthError("invalid_grant", "unknown refresh token")
                }
                guard case .active(let email) = entry else {
                    state.counters["oauth.invalid_grant", default: 0] += 1
                    state.counters["oauth.reused_refresh_token", default: 0] += 1
                    return .oauthError("invalid_grant", "refresh token already used")
                }
                state.refreshTokens[token] = .used
                return .json(MockState.issue(email: email, &state, now: now))
            case "authorization_code":
                state.counters["oauth.authorization_code", default: 0] += 1
                guard let code = parameters["code"], let entry = state.codes.removeValue(forKey: code) else {
                    return .oauthError("invalid_grant", "unknown or used authorization code")
                }
                guard parameters["redirect_uri"] == entry.redirectURI else {
                    return .oauthError("invalid_grant", "redirect_uri does not match")
                }
                guard let verifier = parameters["code_verifier"], PKCE.challenge(for: verifier) == entry.challenge else {
                    return .oauthError("invalid_grant", "PKCE verification failed")
                }
                return .json(MockState.issue(email: entry.email, &state, now: now))
            case "urn:ietf:params:oauth:grant-type:device_code":
                state.counters["oauth.device.poll", default: 0] += 1
                guard let code = parameters["device_code"], var device = state.devices[code] else {
                    return .oauthError("invalid_grant", "unknown device code")
                }
                if device.slowDownsLeft > 0 {
                    device.slowDownsLeft -= 1
                    state.devices[code] = device
                    state.counters["oauth.device.slow_down", default: 0] += 1
                    return .oauthError("slow_down", "polling too fast")
                }
                switch device.decision {
                case "approve":
                    state.devices[code] = nil
                    return .json(MockState.issue(email: device.email, &state, now: now))
                case "deny":
                    state.devices[code] = nil
                    return .oauthError("access_denied", "the user denied the request")
                default:
                    return .oauthError("authorization_pending", "waiting for the user")
                }
            default:
                return .oauthError("unsupported_grant_type", "grant_type \(grant) is not supported")
            }
        }
    }

    /// Stands in for the user's browser session: approves (or denies) at once and redirects back.
    private func authorize(_ request: Request) -> Response {
        let query = request.uri.queryParameters
        guard let redirect = query["redirect_uri"].map(String.init), let challenge = query["code_challenge"].map(String.init),
            query["code_challenge_method"] == "S256", let clientID = query["client_id"].map(String.init)
        else {
            return .oauthError("invalid_request", "redirect_uri, client_id and an S256 code_challenge are required")
        }
        let stateValue = query["state"].map(String.init) ?? ""
        let email = query["login_hint"].map(String.init) ?? "user@example.com"
        let location: String = state.state.withLock { state in
            state.counters["oauth.authorize", default: 0] += 1
            switch state.settings.authorizeBehavior {
            case "deny":
                return redirect + "?" + FormEncoding.encode([("error", "access_denied"), ("error_description", "the user said no"), ("state", stateValue)])
            default:
                let code = MockState.token("mock-code", &state)
                state.codes[code] = .init(challenge: challenge, redirectURI: redirect, clientID: clientID, email: email)
                let echoed = state.settings.authorizeBehavior == "wrong-state" ? "not-" + stateValue : stateValue
                return redirect + "?" + FormEncoding.encode([("code", code), ("state", echoed)])
            }
        }
        return Response(status: .found, headers: [.location: location])
    }

    private func deviceCode(_ request: Request) async throws -> Response {
        let parameters = try await request.parameters()
        guard parameters["client_id"] != nil else { return .oauthError("invalid_request", "client_id is required") }
        return state.state.withLock { state in
            state.counters["oauth.device.code", default: 0] += 1
            let deviceCode = MockState.token("mock-device", &state)
            let userCode = "MOCK-\(state.serial)"
            state.devices[deviceCode] = .init(userCode: userCode, slowDownsLeft: state.settings.deviceSlowDowns, email: "device@example.com")
            return .json([
                "device_code": .string(deviceCode), "user_code": .string(userCode),
                "verification_uri": "http://127.0.0.1/device", "verification_uri_complete": .string("http://127.0.0.1/device?code=\(userCode)"),
                "expires_in": 600, "interval": .int(state.settings.deviceIntervalSeconds),
            ])
        }
    }
}
