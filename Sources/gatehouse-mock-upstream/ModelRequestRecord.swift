import GatehouseCore
import Hummingbird

/// The last model request the mock received, as `GET /admin/last-request` shows it: tests check what
/// the gateway forwarded (which credential, which headers, which model).
struct ModelRequestRecord: Sendable {
    var method: String
    var path: String
    /// The body's `model`, when it had one.
    var model: String?
    var stream: Bool
    /// The credential from `Authorization: Bearer` or `x-api-key`.
    var key: String?
    /// Kept whole (a reference, no copy) and turned into JSON only when asked for.
    var headers: HTTPFields
    var body: ByteBuffer

    /// `{"method", "path", "model", "stream", "key", "headers": [names], "headerValues": {name: value}, "body"}`.
    var json: JSONValue {
        var names: [JSONValue] = []
        var values: [String: JSONValue] = [:]
        for field in headers {
            let name = field.name.canonicalName
            if let existing = values[name]?.stringValue {
                values[name] = .string(existing + ", " + field.value)
            } else {
                names.append(.string(name))
                values[name] = .string(field.value)
            }
        }
        return [
            "method": .string(method), "path": .string(path), "model": model.map(JSONValue.string) ?? nil, "stream": .bool(stream),
            "key": key.map(JSONValue.string) ?? nil, "headers": .array(names), "headerValues": .object(values),
            "body": .string(String(buffer: body)),
        ]
    }
}
