import GatehouseCore
import HTTPTypes
import NIOCore
import NIOHTTP1

/// An error answered in the client's wire format.
struct WireError: Error {
    enum Kind {
        case invalidRequest, authentication, permission, notFound, rateLimit, overloaded, tooLarge, upstream, unavailable
    }

    var status: HTTPResponseStatus
    var kind: Kind
    var message: String
    var retryAfterSeconds: Int64?
    /// Extra fields in the error object (per-profile reasons when everything is cooling).
    var details: [String: JSONValue] = [:]

    /// The answer in `api`'s error shape.
    func answer(for api: WireAPI, requestID: String) -> ProxyAnswer {
        var headers: HTTPHeaders = ["content-type": "application/json", GatewayHeader.requestID: requestID]
        if let retryAfterSeconds { headers.add(name: "retry-after", value: String(retryAfterSeconds)) }
        return .complete(status: status, headers: headers, body: body(for: api))
    }

    /// The error object in `api`'s shape.
    func body(for api: WireAPI) -> ByteBuffer {
        var error: [String: JSONValue] = ["message": .string(message)]
        for (key, value) in details { error[key] = value }
        let body: JSONValue
        switch api {
        case .openAIChat:
            error["type"] = .string(openAIType)
            error["code"] = .string(openAICode)
            error["param"] = .null
            body = ["error": .object(error)]
        case .anthropicMessages:
            error["type"] = .string(anthropicType)
            body = ["type": "error", "error": .object(error)]
        }
        return ByteBuffer(bytes: body.serialized(pretty: false))
    }

    private var openAIType: String {
        switch kind {
        case .invalidRequest, .tooLarge, .notFound: "invalid_request_error"
        case .authentication: "authentication_error"
        case .permission: "permission_error"
        case .rateLimit: "rate_limit_error"
        case .overloaded, .upstream, .unavailable: "api_error"
        }
    }

    private var openAICode: String {
        switch kind {
        case .invalidRequest: "invalid_request"
        case .authentication: "invalid_api_key"
        case .permission: "permission_denied"
        case .notFound: "model_not_found"
        case .rateLimit: "rate_limit_exceeded"
        case .overloaded: "overloaded"
        case .tooLarge: "request_too_large"
        case .upstream: "upstream_error"
        case .unavailable: "no_credential_available"
        }
    }

    private var anthropicType: String {
        switch kind {
        case .invalidRequest: "invalid_request_error"
        case .authentication: "authentication_error"
        case .permission: "permission_error"
        case .notFound: "not_found_error"
        case .rateLimit: "rate_limit_error"
        case .overloaded, .unavailable: "overloaded_error"
        case .tooLarge: "request_too_large"
        case .upstream: "api_error"
        }
    }

    /// The error event a stream ends with when the upstream cut it.
    static func streamCutEvent(for api: WireAPI, message: String) -> ByteBuffer {
        switch api {
        case .openAIChat:
            let body: JSONValue = ["error": ["message": .string(message), "type": "api_error", "code": "stream_interrupted"]]
            return ByteBuffer(bytes: Array("data: ".utf8) + body.serialized(pretty: false) + Array("\n\n".utf8))
        case .anthropicMessages:
            let body: JSONValue = ["type": "error", "error": ["type": "api_error", "message": .string(message)]]
            return ByteBuffer(bytes: Array("event: error\ndata: ".utf8) + body.serialized(pretty: false) + Array("\n\n".utf8))
        }
    }
}

/// The gateway's own headers.
enum GatewayHeader {
    /// Request: the agent whose credentials serve it.
    static let agent = "X-Gatehouse-Agent"
    /// Request: the session, for its pin.
    static let session = "X-Gatehouse-Session"
    /// Answer: the profile that served it.
    static let profile = "X-Gatehouse-Profile"
    /// Answer: how many upstream attempts it took.
    static let attempts = "X-Gatehouse-Attempts"
    /// Answer: the id of the request's log line.
    static let requestID = "X-Gatehouse-Request-Id"
}

extension HTTPField.Name {
    static let gatehouseAgent = HTTPField.Name(GatewayHeader.agent)!
    static let xAPIKey = HTTPField.Name("x-api-key")!
}
