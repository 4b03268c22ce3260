/// Turns an upstream failure into a reason and, when the upstream said so, a time to come back.
///
/// The rules (DESIGN section 5): 429 → rate_limit; 402 → billing, or rate_limit when the text talks
/// of a usage window or a reset; 401/403 → auth, auth_permanent for revoked, deactivated or invalid
/// keys, billing for billing text; 408, 502, 504 and transport failures → timeout; 503 → overloaded
/// when the text says so, else timeout; 529 → overloaded; 404 or "model not found" text →
/// model_not_found; 400/422 → format, billing for billing text; other 5xx → unknown; other 4xx →
/// format.
public enum FailureClassifier {
    /// Classifies a failure observed at `now` (milliseconds since the epoch).
    public static func classify(_ outcome: UpstreamOutcome, now: Int64) -> FailureClassification {
        switch outcome {
        case .transport:
            return FailureClassification(reason: .timeout)
        case .http(let status, let headers, let body):
            let text = body.lowercased()
            let reason = reason(status: status, text: text)
            let retryAt = RetryAfter.parse(headers: headers, now: now)
            return FailureClassification(reason: reason, retryAt: retryAt)
        }
    }

    static func reason(status: Int, text: String) -> FailureReason {
        switch status {
        case 429:
            return matches(text, billingPhrases) && !matches(text, usageWindowPhrases) ? .billing : .rateLimit
        case 402:
            return matches(text, usageWindowPhrases) ? .rateLimit : .billing
        case 401, 403:
            if matches(text, billingPhrases) { return .billing }
            if matches(text, permanentAuthPhrases) { return .authPermanent }
            return .auth
        case 408, 502, 504:
            return .timeout
        case 503:
            return matches(text, overloadedPhrases) ? .overloaded : .timeout
        case 529:
            return .overloaded
        case 404:
            return .modelNotFound
        case 400, 422:
            if matches(text, billingPhrases) { return .billing }
            if matches(text, modelNotFoundPhrases) { return .modelNotFound }
            return .format
        case 500...599:
            return matches(text, overloadedPhrases) ? .overloaded : .unknown
        case 400...499:
            return matches(text, modelNotFoundPhrases) ? .modelNotFound : .format
        default:
            return .unknown
        }
    }

    private static func matches(_ text: String, _ phrases: [String]) -> Bool {
        phrases.contains { text.contains($0) }
    }

    static let usageWindowPhrases = [
        "usage limit", "usage window", "resets at", "reset at", "resets in", "will reset", "try again at",
        "rate limit", "rate_limit", "rate-limit", "too many requests", "limit will reset", "quota will reset",
        "retry in", "retry after", "per minute", "per-minute", "requests per", "tokens per",
    ]
    static let billingPhrases = [
        "credit balance", "insufficient credit", "insufficient_quota", "insufficient funds", "billing",
        "payment required", "add credits", "purchase credits", "exceeded your current quota", "out of credits",
    ]
    static let permanentAuthPhrases = [
        "revoked", "deactivated", "disabled", "invalid api key", "invalid x-api-key", "invalid_api_key",
        "incorrect api key", "api key not valid", "account has been suspended", "no longer valid",
    ]
    static let overloadedPhrases = ["overloaded", "over capacity", "overload"]
    static let modelNotFoundPhrases = [
        "model not found", "model_not_found", "does not exist", "unknown model", "no such model", "invalid model",
    ]
}
