import GatehouseCore
import Hummingbird

extension Response {
    /// A JSON response.
    static func json(_ value: JSONValue, status: HTTPResponse.Status = .ok, headers: HTTPFields = [:]) -> Response {
        var fields = headers
        fields[.contentType] = "application/json"
        return Response(status: status, headers: fields, body: .init(byteBuffer: ByteBuffer(bytes: value.serialized(pretty: false))))
    }

    /// An OAuth error answer (RFC 6749 section 5.2).
    static func oauthError(_ code: String, _ description: String, status: HTTPResponse.Status = .badRequest) -> Response {
        .json(["error": .string(code), "error_description": .string(description)], status: status)
    }
}

extension Request {
    /// The body as bytes, up to 1 MiB.
    func bodyBytes() async throws -> [UInt8] {
        let buffer = try await body.collect(upTo: 1 << 20)
        return Array(buffer.readableBytesView)
    }

    /// Form or JSON parameters of a POST body, as strings.
    func parameters() async throws -> [String: String] {
        let bytes = try await bodyBytes()
        if headers[.contentType]?.hasPrefix("application/json") == true {
            guard let object = (try? JSONValue.parse(bytes))?.objectValue else { return [:] }
            var result: [String: String] = [:]
            for (key, value) in object {
                if let string = value.stringValue { result[key] = string } else if let int = value.intValue { result[key] = String(int) }
            }
            return result
        }
        var result: [String: String] = [:]
        for (key, value) in FormEncoding.decode(String(decoding: bytes, as: UTF8.self)) { result[key] = value }
        return result
    }

    /// The body as a JSON object (empty when there is none).
    func jsonObject() async throws -> [String: JSONValue] {
        let bytes = try await bodyBytes()
        if bytes.isEmpty { return [:] }
        return (try? JSONValue.parse(bytes))?.objectValue ?? [:]
    }
}
