import NIOCore

/// Response bytes prepared once at start, with holes for the few values that differ per request, so
/// answering a model request costs one buffer fill and no JSON serialisation.
struct ResponseTemplate: Sendable {
    /// The values a template's holes take for one answer.
    struct Values: Sendable {
        /// The answer's id (`chatcmpl-mock-7`, `msg_mock_7`): plain ASCII, written as is.
        var id: String
        /// Seconds since the epoch.
        var created: Int64
        /// The request's model, already escaped for the inside of a JSON string.
        var model: [UInt8]
    }

    private enum Part: Sendable {
        case literal([UInt8])
        case id
        case created
        case model
    }

    private let parts: [Part]
    /// The bytes of the literal parts, to size buffers.
    let literalByteCount: Int

    /// - Parameter text: the bytes, with `{{id}}`, `{{created}}` and `{{model}}` where the values go.
    init(_ text: String) {
        var parts: [Part] = []
        var literal: [UInt8] = []
        var rest = Substring(text)
        while let open = rest.firstRange(of: "{{") {
            guard let close = rest[open.upperBound...].firstRange(of: "}}") else { break }
            literal += Array(rest[..<open.lowerBound].utf8)
            let hole: Part
            switch rest[open.upperBound..<close.lowerBound] {
            case "id": hole = .id
            case "created": hole = .created
            case "model": hole = .model
            case let other: preconditionFailure("unknown template hole {{\(other)}}")
            }
            if !literal.isEmpty { parts.append(.literal(literal)) }
            literal = []
            parts.append(hole)
            rest = rest[close.upperBound...]
        }
        literal += Array(rest.utf8)
        if !literal.isEmpty { parts.append(.literal(literal)) }
        self.parts = parts
        self.literalByteCount = parts.reduce(0) { count, part in
            if case .literal(let bytes) = part { return count + bytes.count }
            return count
        }
    }

    /// The bytes this template needs at most for `values`.
    func capacity(for values: Values) -> Int {
        literalByteCount + 2 * (values.id.utf8.count + 20 + values.model.count)
    }

    /// Appends the template with `values` in its holes.
    func write(_ values: Values, into buffer: inout ByteBuffer) {
        for part in parts {
            switch part {
            case .literal(let bytes): buffer.writeBytes(bytes)
            case .id: buffer.writeString(values.id)
            case .created: buffer.writeString(String(values.created))
            case .model: buffer.writeBytes(values.model)
            }
        }
    }

    /// The template with `values`, in a buffer of its own.
    func render(_ values: Values) -> ByteBuffer {
        var buffer = ByteBuffer()
        buffer.reserveCapacity(capacity(for: values))
        write(values, into: &buffer)
        return buffer
    }
}

/// JSON string escaping for the few values the mock writes into prepared bytes.
enum JSONStringEscaping {
    /// The UTF-8 of `text` escaped for the inside of a JSON string (without the quotes).
    static func escaped(_ text: String) -> [UInt8] {
        let utf8 = text.utf8
        if !utf8.contains(where: needsEscape) { return Array(utf8) }
        var result: [UInt8] = []
        result.reserveCapacity(utf8.count + 8)
        let hex = Array("0123456789abcdef".utf8)
        for byte in utf8 {
            switch byte {
            case UInt8(ascii: "\""): result += [UInt8(ascii: "\\"), UInt8(ascii: "\"")]
            case UInt8(ascii: "\\"): result += [UInt8(ascii: "\\"), UInt8(ascii: "\\")]
            case UInt8(ascii: "\n"): result += [UInt8(ascii: "\\"), UInt8(ascii: "n")]
            case UInt8(ascii: "\r"): result += [UInt8(ascii: "\\"), UInt8(ascii: "r")]
            case UInt8(ascii: "\t"): result += [UInt8(ascii: "\\"), UInt8(ascii: "t")]
            case 0..<0x20: result += Array("\\u00".utf8) + [hex[Int(byte >> 4)], hex[Int(byte & 0xF)]]
            default: result.append(byte)
            }
        }
        return result
    }

    /// `text` as a quoted JSON string.
    static func quoted(_ text: String) -> String {
        "\"" + String(decoding: escaped(text), as: UTF8.self) + "\""
    }

    private static func needsEscape(_ byte: UInt8) -> Bool {
        byte < 0x20 || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\")
    }
}
