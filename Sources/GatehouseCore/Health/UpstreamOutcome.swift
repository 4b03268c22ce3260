/// What came back from an upstream provider when a request failed: an HTTP answer, or no answer.
public enum UpstreamOutcome: Sendable, Hashable {
    /// An HTTP answer with a status that is not a success.
    /// - Parameters:
    ///   - status: the HTTP status.
    ///   - headers: the response headers (names in any case).
    ///   - body: a bounded prefix of the body (a few KiB is plenty for the matchers).
    case http(status: Int, headers: [(String, String)], body: String)
    /// No HTTP answer: the connection failed or timed out.
    case transport(TransportFailure)

    public static func == (lhs: UpstreamOutcome, rhs: UpstreamOutcome) -> Bool {
        switch (lhs, rhs) {
        case (.http(let s1, let h1, let b1), .http(let s2, let h2, let b2)):
            s1 == s2 && b1 == b2 && h1.map { [$0.0, $0.1] } == h2.map { [$0.0, $0.1] }
        case (.transport(let a), .transport(let b)): a == b
        default: false
        }
    }

    public func hash(into hasher: inout Hasher) {
        switch self {
        case .http(let status, let headers, let body):
            hasher.combine(status)
            for (name, value) in headers {
                hasher.combine(name)
                hasher.combine(value)
            }
            hasher.combine(body)
        case .transport(let failure):
            hasher.combine(failure)
        }
    }
}

/// Ways a request can fail without an HTTP answer.
public enum TransportFailure: String, Sendable, Hashable, CaseIterable {
    case connectTimeout = "connect_timeout"
    case readTimeout = "read_timeout"
    case connectionRefused = "connection_refused"
    case connectionReset = "connection_reset"
    /// The stream ended in the middle of an answer.
    case streamCut = "stream_cut"
    case other
}

/// What a failure means for the profile that got it.
public struct FailureClassification: Sendable, Hashable {
    public var reason: FailureReason
    /// When the upstream said to come back (milliseconds since the epoch), from `Retry-After` or a
    /// provider's rate-limit reset header.
    public var retryAt: Int64?

    public init(reason: FailureReason, retryAt: Int64? = nil) {
        self.reason = reason
        self.retryAt = retryAt
    }
}
