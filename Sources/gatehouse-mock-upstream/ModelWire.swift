import GatehouseCore

/// The two wire formats the mock serves models in, with their counter names and error shapes.
enum ModelWire: Sendable {
    /// `POST /v1/chat/completions`.
    case openAIChat
    /// `POST /v1/messages`.
    case anthropicMessages

    /// Names of the counters a request bumps, built once.
    struct Counters: Sendable {
        let requests: String
        let stream: String
        let faults: String
        let cut: String
        let requestsPerKeyPrefix: String

        init(prefix: String) {
            requests = prefix + ".requests"
            stream = prefix + ".stream"
            faults = prefix + ".faults"
            cut = prefix + ".cut"
            requestsPerKeyPrefix = prefix + ".requests."
        }
    }

    static let chatCounters = Counters(prefix: "chat")
    static let messagesCounters = Counters(prefix: "messages")

    var counters: Counters {
        switch self {
        case .openAIChat: Self.chatCounters
        case .anthropicMessages: Self.messagesCounters
        }
    }

    /// The error body a real provider of this wire sends for `status`.
    ///
    /// The wording follows what the providers say, so the gateway's classifier sees what it would see
    /// in production: invalid-key text for 401, rate-limit text for 429, overloaded for 503 and 529,
    /// billing for 402, a malformed request for 400.
    /// - Parameters:
    ///   - key: the credential the request carried (shown masked, as providers do).
    ///   - detail: replaces the message, for the mock's own request checks (`model` missing, bad JSON).
    func errorBody(status: Int, key: String?, model: String?, detail: String? = nil) -> [UInt8] {
        switch self {
        case .openAIChat:
            let shape = Self.openAIError(status: status, key: key, model: model)
            let error: JSONValue = [
                "message": .string(detail ?? shape.message), "type": .string(shape.type), "param": nil,
                "code": shape.code.map(JSONValue.string) ?? nil,
            ]
            return JSONValue.object(["error": error]).serialized(pretty: false)
        case .anthropicMessages:
            let shape = Self.anthropicError(status: status)
            return JSONValue.object([
                "type": "error", "error": ["type": .string(shape.type), "message": .string(detail ?? shape.message)],
            ]).serialized(pretty: false)
        }
    }

    /// The body a request without any credential gets (with status 401).
    func missingKeyBody() -> [UInt8] {
        switch self {
        case .openAIChat:
            errorBody(
                status: 401, key: nil, model: nil,
                detail: "You didn't provide an API key. You need to provide your API key in an Authorization header using Bearer auth "
                    + "(i.e. Authorization: Bearer YOUR_KEY).")
        case .anthropicMessages:
            errorBody(status: 401, key: nil, model: nil, detail: "x-api-key header is required")
        }
    }

    private static func openAIError(status: Int, key: String?, model: String?) -> (type: String, code: String?, message: String) {
        let model = model ?? "unknown"
        switch status {
        case 400:
            return ("invalid_request_error", "invalid_value", "Invalid value for 'messages': expected an array of message objects.")
        case 401:
            return (
                "invalid_request_error", "invalid_api_key",
                "Incorrect API key provided: \(masked(key)). You can find your API key at https://platform.openai.com/account/api-keys."
            )
        case 402:
            return (
                "insufficient_quota", "insufficient_quota", "You exceeded your current quota, please check your plan and billing details."
            )
        case 403:
            return ("invalid_request_error", "permission_denied", "Your API key does not have permission to use the specified resource.")
        case 404:
            return ("invalid_request_error", "model_not_found", "The model `\(model)` does not exist or you do not have access to it.")
        case 408:
            return ("server_error", "timeout", "Request timed out.")
        case 429:
            return (
                "requests", "rate_limit_exceeded",
                "Rate limit reached for \(model) on requests per min (RPM): Limit 3, Used 3, Requested 1. Please try again in 20s."
            )
        case 503, 529:
            return ("server_error", "overloaded", "The server is overloaded. Please try again later.")
        case 502:
            return ("server_error", nil, "Bad gateway.")
        case 504:
            return ("server_error", "timeout", "Gateway timeout.")
        case 500...599:
            return ("server_error", nil, "The server had an error while processing your request. Sorry about that!")
        default:
            return ("invalid_request_error", nil, "The request could not be processed (status \(status)).")
        }
    }

    private static func anthropicError(status: Int) -> (type: String, message: String) {
        switch status {
        case 400: ("invalid_request_error", "messages: Field required")
        case 401: ("authentication_error", "invalid x-api-key")
        case 402:
            (
                "billing_error",
                "Your credit balance is too low to access the Anthropic API. Please go to Plans & Billing to upgrade or purchase credits."
            )
        case 403: ("permission_error", "Your API key does not have permission to use the specified resource.")
        case 404: ("not_found_error", "model not found")
        case 408, 504: ("timeout_error", "Request timed out")
        case 413: ("request_too_large", "Request exceeds the maximum allowed number of bytes.")
        case 429:
            (
                "rate_limit_error",
                "Number of request tokens has exceeded your per-minute rate limit (https://docs.anthropic.com/en/api/rate-limits); "
                    + "see the response headers for current usage. Please reduce the prompt length or the maximum tokens requested, "
                    + "or try again later."
            )
        case 503, 529: ("overloaded_error", "Overloaded")
        case 500...599: ("api_error", "Internal server error")
        default: ("invalid_request_error", "The request could not be processed (status \(status)).")
        }
    }

    /// A key as providers show it in errors: the first and last few characters.
    private static func masked(_ key: String?) -> String {
        guard let key, key.count > 8 else { return "****" }
        return "\(key.prefix(3))*****\(key.suffix(4))"
    }
}
