import GatehouseCore
import Synchronization

/// Everything the mock provider remembers: issued tokens, pending authorizations, counters, the last
/// model request and the behaviour tests asked for.
final class MockState: Sendable {
    struct Settings: Sendable {
        /// Lifetime of issued access tokens.
        var tokenLifetimeSeconds: Int64 = 3600
        /// Delay before the token endpoint answers.
        var tokenLatencyMilliseconds: Int64 = 0
        /// What the authorize endpoint does: approve, deny, or approve with a wrong `state`.
        var authorizeBehavior = "approve"
        /// Polling interval the device endpoint asks for.
        var deviceIntervalSeconds: Int64 = 1
        /// How many device polls answer `slow_down` before the normal answers.
        var deviceSlowDowns = 0
        /// Statuses the token endpoint answers with next, one each, before behaving normally.
        var tokenFaults: [Int] = []
        /// Whether a model request without any credential is served, as a local server does.
        var keyless = false
    }

    enum RefreshTokenState: Sendable {
        case active(email: String)
        case used
    }

    struct AuthorizationCode: Sendable {
        var challenge: String
        var redirectURI: String
        var clientID: String
        var email: String
    }

    struct DeviceGrant: Sendable {
        var userCode: String
        var decision: String = "pending"
        var slowDownsLeft: Int
        var email: String
    }

    struct State: Sendable {
        var settings = Settings()
        var counters: [String: Int] = [:]
        var refreshTokens: [String: RefreshTokenState] = [:]
        var accessTokens: [String: Int64] = [:]
        var codes: [String: AuthorizationCode] = [:]
        var devices: [String: DeviceGrant] = [:]
        var serial = 0
        /// What the model routes do for a credential (`POST /admin/keys`).
        var keyBehaviours: [String: KeyBehaviour] = [:]
        /// The last request to a model route (`GET /admin/last-request`).
        var lastModelRequest: ModelRequestRecord?
        /// Numbers the model answers' ids.
        var replySerial = 0
    }

    let state = Mutex(State())

    func count(_ name: String, by n: Int = 1) {
        state.withLock { $0.counters[name, default: 0] += n }
    }

    /// A unique token with a recognisable prefix.
    static func token(_ prefix: String, _ state: inout State) -> String {
        state.serial += 1
        var rng = SystemRandomNumberGenerator()
        return "\(prefix)-\(state.serial)-\(String(rng.next() as UInt64, radix: 36))"
    }

    /// Issues an access token and a new single-use refresh token for an account.
    static func issue(email: String, _ state: inout State, now: Int64) -> JSONValue {
        let access = token("mock-at", &state)
        let refresh = token("mock-rt", &state)
        state.accessTokens[access] = now + state.settings.tokenLifetimeSeconds * 1000
        state.refreshTokens[refresh] = .active(email: email)
        let claims: JSONValue = ["email": .string(email), "sub": .string(email), "exp": .int(now / 1000 + 3600)]
        let idToken = "\(Base64URL.encode(Array(#"{"alg":"none"}"#.utf8))).\(Base64URL.encode(claims.serialized(pretty: false))).sig"
        return [
            "access_token": .string(access), "refresh_token": .string(refresh), "token_type": "Bearer",
            "expires_in": .int(state.settings.tokenLifetimeSeconds), "id_token": .string(idToken),
        ]
    }
}
