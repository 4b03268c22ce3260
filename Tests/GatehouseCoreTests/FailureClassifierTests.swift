import GatehouseCore
import Testing

/// DESIGN section 5, "Classification of an upstream answer", on bodies shaped like what OpenAI,
/// Anthropic and a few others really send.
@Suite struct FailureClassifierTests {

    /// 2025-06-15T15:06:40Z.
    static let now: Int64 = 1_750_000_000_000

    struct Case: Sendable, CustomTestStringConvertible {
        var label: String
        var status: Int
        var body: String
        var reason: FailureReason
        var testDescription: String { "\(status) \(label) → \(reason.rawValue)" }

        init(_ label: String, _ status: Int, _ body: String, _ reason: FailureReason) {
            self.label = label
            self.status = status
            self.body = body
            self.reason = reason
        }
    }

    static func openAI(_ message: String, type: String, code: String?) -> String {
        let codeJSON = code.map { "\"\($0)\"" } ?? "null"
        return #"{"error":{"message":"\#(message)","type":"\#(type)","param":null,"code":\#(codeJSON)}}"#
    }

    static func anthropic(_ type: String, _ message: String) -> String {
        #"{"type":"error","error":{"type":"\#(type)","message":"\#(message)"}}"#
    }

    static let cases: [Case] = [
        // 429
        Case("OpenAI rate_limit_exceeded (tokens per min)", 429, openAI(
            "Rate limit reached for gpt-4o in organization org-abc123 on tokens per min (TPM): Limit 30000, Used 29850, Requested 1200. Please try again in 2.1s. Visit https://platform.openai.com/account/rate-limits to learn more.",
            type: "tokens", code: "rate_limit_exceeded"), .rateLimit),
        Case("OpenAI rate limit that links the billing page", 429, openAI(
            "Rate limit reached for gpt-4o-mini in organization org-abc123 on requests per day (RPD): Limit 200, Used 200, Requested 1. Please try again in 7m12s. You can increase your rate limit by adding a payment method to your account at https://platform.openai.com/account/billing.",
            type: "requests", code: "rate_limit_exceeded"), .rateLimit),
        Case("OpenAI insufficient_quota (credits exhausted: billing, a refinement of 429)", 429, openAI(
            "You exceeded your current quota, please check your plan and billing details. For more information on this error, read the docs: https://platform.openai.com/docs/guides/error-codes/api-errors.",
            type: "insufficient_quota", code: "insufficient_quota"), .billing),
        Case("Anthropic rate_limit_error", 429, anthropic(
            "rate_limit_error",
            "This request would exceed the rate limit for your organization (8f1c2d) of 40,000 input tokens per minute. For details, refer to: https://docs.anthropic.com/en/api/rate-limits."),
            .rateLimit),
        Case("empty body", 429, "", .rateLimit),
        Case("Gemini RESOURCE_EXHAUSTED per-minute quota (a rate limit, not billing)", 429,
            #"{"error":{"code":429,"message":"You exceeded your current quota, please check your plan and billing details. For more information on this error, head to: https://ai.google.dev/gemini-api/docs/rate-limits.\n* Quota exceeded for metric: generativelanguage.googleapis.com/generate_content_free_tier_requests, limit: 10, model: gemini-2.5-flash\nPlease retry in 42.316440768s.","status":"RESOURCE_EXHAUSTED"}}"#,
            .rateLimit),

        // 402
        Case("OpenRouter insufficient credits", 402,
            #"{"error":{"code":402,"message":"Insufficient credits. This account never purchased credits. Make sure your key is on the correct account or org, and if so, purchase more at https://openrouter.ai/settings/credits"}}"#,
            .billing),
        Case("plain Payment Required", 402, "Payment Required", .billing),
        Case("Anthropic credit balance too low on 402", 402, anthropic(
            "invalid_request_error",
            "Your credit balance is too low to access the Anthropic API. Please go to Plans & Billing to upgrade or purchase credits."),
            .billing),
        Case("usage limit that resets at a time (usage window)", 402,
            #"{"error":{"type":"usage_limit_reached","message":"You have hit your usage limit for Claude Max. Your limit resets at 5pm (Europe/Berlin)."}}"#,
            .rateLimit),
        Case("5-hour usage window that resets in a while", 402,
            #"{"error":{"message":"5-hour usage window exhausted; it resets in 2h 13m.","plan":"pro"}}"#,
            .rateLimit),

        // 401 / 403
        Case("OpenAI missing API key (plain auth)", 401, openAI(
            "You didn't provide an API key. You need to provide your API key in an Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY).",
            type: "invalid_request_error", code: nil), .auth),
        Case("OpenAI invalid_api_key", 401, openAI(
            "Incorrect API key provided: sk-proj-****************abcd. You can find your API key at https://platform.openai.com/account/api-keys.",
            type: "invalid_request_error", code: "invalid_api_key"), .authPermanent),
        Case("OpenAI account deactivated", 401, openAI(
            "The OpenAI account associated with this API key has been deactivated. If you are the developer for this OpenAI app, please check your email for more information.",
            type: "invalid_request_error", code: "account_deactivated"), .authPermanent),
        Case("Anthropic invalid x-api-key", 401, anthropic("authentication_error", "invalid x-api-key"), .authPermanent),
        Case("Anthropic OAuth token expired (plain auth: refresh and retry)", 401, anthropic(
            "authentication_error", "OAuth token has expired. Please obtain a new token or refresh your existing token."),
            .auth),
        Case("Anthropic OAuth token revoked", 401, anthropic(
            "authentication_error", "OAuth token has been revoked. Please obtain a new token."), .authPermanent),
        Case("billing text on 401", 401,
            #"{"error":{"message":"Your key is valid but the organization has no billing set up; add credits to continue.","type":"authentication_error"}}"#,
            .billing),
        Case("Anthropic permission_error", 403, anthropic(
            "permission_error", "Your API key does not have permission to use the specified resource."), .auth),
        Case("OpenAI unsupported country", 403,
            #"{"error":{"code":"unsupported_country_region_territory","message":"Country, region, or territory not supported","param":null,"type":"request_forbidden"}}"#,
            .auth),
        Case("Anthropic organization disabled", 403, anthropic(
            "permission_error", "This organization has been disabled."), .authPermanent),
        Case("Gemini billing not enabled on 403", 403,
            #"{"error":{"code":403,"message":"This API method requires billing to be enabled. Please enable billing on project #1234 then retry.","status":"PERMISSION_DENIED"}}"#,
            .billing),

        // 408 / 502 / 504 / 503 / 529
        Case("request timeout", 408, "Request Timeout", .timeout),
        Case("Cloudflare bad gateway page", 502,
            "<html><head><title>502 Bad Gateway</title></head><body><center><h1>502 Bad Gateway</h1></center><hr><center>cloudflare</center></body></html>",
            .timeout),
        Case("gateway timeout", 504, #"{"error":{"message":"Gateway Timeout","type":"server_error"}}"#, .timeout),
        Case("OpenAI engine overloaded on 503", 503, openAI(
            "The engine is currently overloaded, please try again later.", type: "server_error", code: nil), .overloaded),
        Case("503 over capacity", 503, #"{"error":{"message":"The model is over capacity right now."}}"#, .overloaded),
        Case("503 service unavailable without overload text", 503, "Service Unavailable", .timeout),
        Case("envoy 503 before headers", 503,
            "upstream connect error or disconnect/reset before headers. reset reason: connection termination", .timeout),
        Case("Anthropic overloaded_error", 529, anthropic("overloaded_error", "Overloaded"), .overloaded),
        Case("529 with an empty body", 529, "", .overloaded),

        // 404 and model-not-found text
        Case("Anthropic not_found_error for a model", 404, anthropic("not_found_error", "model: claude-opus-9-20300101"), .modelNotFound),
        Case("OpenAI model_not_found", 404, openAI(
            "The model `gpt-5-ultra` does not exist or you do not have access to it.",
            type: "invalid_request_error", code: "model_not_found"), .modelNotFound),
        Case("model does not exist on 400", 400, openAI(
            "The requested model 'gpt-4o-2099' does not exist.", type: "invalid_request_error", code: "model_not_found"),
            .modelNotFound),

        // 400 / 422
        Case("OpenAI context_length_exceeded", 400, openAI(
            "This model's maximum context length is 128000 tokens. However, your messages resulted in 131072 tokens. Please reduce the length of the messages.",
            type: "invalid_request_error", code: "context_length_exceeded"), .format),
        Case("Anthropic prompt too long", 400, anthropic(
            "invalid_request_error", "prompt is too long: 215342 tokens > 200000 maximum"), .format),
        Case("Anthropic roles must alternate", 400, anthropic(
            "invalid_request_error", "messages: roles must alternate between \\\"user\\\" and \\\"assistant\\\", but found multiple \\\"user\\\" roles in a row"),
            .format),
        Case("OpenAI previous response not found (not a model)", 400, openAI(
            "Previous response with id 'resp_abc123' not found.", type: "invalid_request_error", code: "previous_response_not_found"),
            .format),
        Case("Anthropic credit balance too low", 400, anthropic(
            "invalid_request_error",
            "Your credit balance is too low to access the Anthropic API. Please go to Plans & Billing to upgrade or purchase credits."),
            .billing),
        Case("FastAPI-style validation error", 422,
            #"{"detail":[{"loc":["body","messages"],"msg":"field required","type":"value_error.missing"}]}"#, .format),
        Case("billing text on 422", 422, #"{"error":{"message":"Insufficient credit balance for this request."}}"#, .billing),

        // Other 4xx and 5xx
        Case("Anthropic request_too_large", 413, anthropic("request_too_large", "Request exceeds the maximum allowed number of bytes."), .format),
        Case("Anthropic api_error", 500, anthropic("api_error", "Internal server error"), .unknown),
        Case("OpenAI server_error", 500, openAI(
            "The server had an error while processing your request. Sorry about that!", type: "server_error", code: nil), .unknown),
        Case("Cloudflare 520", 520, "error code: 520", .unknown),
        Case("not implemented", 501, "Not Implemented", .unknown),
    ]

    @Test(arguments: cases)
    func httpAnswerIsClassifiedByStatusAndText(_ c: Case) {
        let result = FailureClassifier.classify(.http(status: c.status, headers: [], body: c.body), now: Self.now)
        #expect(result.reason == c.reason, "\(c.label)")
        #expect(result.retryAt == nil, "no header says when to come back")
    }

    @Test func tableHasAtLeastThirtyFiveCasesCoveringEveryReason() {
        #expect(Self.cases.count >= 35)
        let covered = Set(Self.cases.map(\.reason))
        #expect(covered == Set(FailureReason.allCases))
    }

    @Test(arguments: TransportFailure.allCases)
    func everyTransportFailureIsATimeout(_ failure: TransportFailure) {
        let result = FailureClassifier.classify(.transport(failure), now: Self.now)
        #expect(result == FailureClassification(reason: .timeout, retryAt: nil))
    }

    @Test func matchingIgnoresCase() {
        let upper = FailureClassifier.classify(
            .http(status: 503, headers: [], body: #"{"error":{"message":"SERVER OVERLOADED"}}"#), now: Self.now)
        #expect(upper.reason == .overloaded)
        let mixed = FailureClassifier.classify(
            .http(status: 401, headers: [], body: #"{"error":{"message":"API Key Revoked"}}"#), now: Self.now)
        #expect(mixed.reason == .authPermanent)
    }

    @Test func classificationCarriesRetryAtFromTheHeaders() {
        let rateLimited = FailureClassifier.classify(
            .http(status: 429, headers: [("Retry-After", "20")],
                  body: Self.anthropic("rate_limit_error", "Number of request tokens has exceeded your per-minute rate limit")),
            now: Self.now)
        #expect(rateLimited == FailureClassification(reason: .rateLimit, retryAt: Self.now + 20_000))

        let overloaded = FailureClassifier.classify(
            .http(status: 529, headers: [("retry-after-ms", "1500")], body: Self.anthropic("overloaded_error", "Overloaded")),
            now: Self.now)
        #expect(overloaded == FailureClassification(reason: .overloaded, retryAt: Self.now + 1_500))

        let openAIReset = FailureClassifier.classify(
            .http(status: 429,
                  headers: [("x-ratelimit-remaining-tokens", "0"), ("x-ratelimit-reset-tokens", "6m0s")],
                  body: Self.openAI("Rate limit reached for gpt-4o.", type: "tokens", code: "rate_limit_exceeded")),
            now: Self.now)
        #expect(openAIReset == FailureClassification(reason: .rateLimit, retryAt: Self.now + 360_000))
    }
}
