/// Why a request through a profile failed, as classified from the upstream's answer.
public enum FailureReason: String, Sendable, Hashable, CaseIterable, Comparable {
    case rateLimit = "rate_limit"
    case overloaded
    case timeout
    case auth
    case authPermanent = "auth_permanent"
    case billing
    case format
    case modelNotFound = "model_not_found"
    case unknown

    public static func < (lhs: FailureReason, rhs: FailureReason) -> Bool { lhs.rawValue < rhs.rawValue }
}
