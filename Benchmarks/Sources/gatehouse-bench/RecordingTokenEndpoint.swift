import GatehouseCore
import GatehouseStore
import Synchronization

/// One call a worker made to the token endpoint.
struct TokenEndpointCall: Sendable {
    /// When the grant was sent and when the answer came (`MonotonicTime`).
    var startedAt: UInt64
    var finishedAt: UInt64
    /// The fingerprint of the refresh token sent.
    var sentRefreshToken: String
    /// The fingerprint of the refresh token the answer carried, if any.
    var receivedRefreshToken: String?
    /// `tokens`, the OAuth error code, or the thrown error.
    var outcome: String
}

/// The HTTP token endpoint, with a record of every refresh grant this process sends: when, and with
/// which refresh token (by fingerprint). The calls themselves are `HTTPTokenEndpoint`'s, unchanged.
///
/// The mock's counters say how many refreshes a round had; this record says which process made each
/// one and from which credential, which tells a duplicate refresh apart from a reused refresh token.
final class RecordingTokenEndpoint: TokenEndpoint {
    private let endpoint: any TokenEndpoint
    private let calls = Mutex<[TokenEndpointCall]>([])

    init(_ endpoint: any TokenEndpoint) {
        self.endpoint = endpoint
    }

    func refresh(_ grant: RefreshGrant) async throws -> TokenEndpointResult {
        let started = MonotonicTime.now()
        var call = TokenEndpointCall(
            startedAt: started, finishedAt: 0, sentRefreshToken: Fingerprint.of(grant.refreshToken), receivedRefreshToken: nil,
            outcome: "")
        do {
            let result = try await endpoint.refresh(grant)
            call.finishedAt = MonotonicTime.now()
            switch result {
            case .tokens(let tokens):
                call.outcome = "tokens"
                call.receivedRefreshToken = tokens.refreshToken.map(Fingerprint.of)
            case .failure(let failure):
                call.outcome = failure.code ?? "HTTP \(failure.status)"
            }
            calls.withLock { $0.append(call) }
            return result
        } catch {
            call.finishedAt = MonotonicTime.now()
            call.outcome = "\(error)"
            calls.withLock { $0.append(call) }
            throw error
        }
    }

    /// The calls made so far.
    var recorded: [TokenEndpointCall] { calls.withLock { $0 } }
}
