/// Finds the top-level `"model"` of a JSON request body without building the document, and checks
/// that the body is well-formed JSON on the way. The gateway rewrites only the model's bytes and
/// passes everything else through untouched.
public struct RequestBodyScan: Sendable, Hashable {
    /// The model as the client wrote it (`anthropic/claude-sonnet-4-5`).
    public var model: String
    /// The byte range of the model's string value, quotes included.
    public var modelRange: Range<Int>
    /// Whether the top-level `"stream"` is `true`.
    public var stream: Bool
}

/// Why a body could not be scanned.
public enum RequestBodyScanError: Error, Sendable, Hashable, CustomStringConvertible {
    case malformed(JSONSyntaxError)
    case notAnObject
    case missingModel
    case modelNotAString

    public var description: String {
        switch self {
        case .malformed(let error): "the body is not valid JSON: \(error)"
        case .notAnObject: "the body must be a JSON object"
        case .missingModel: "the body has no \"model\"; name one as \"provider/model\", for example \"anthropic/claude-sonnet-4-5\""
        case .modelNotAString: "\"model\" must be a string such as \"anthropic/claude-sonnet-4-5\""
        }
    }
}

extension RequestBodyScan {
    /// Scans a request body.
    public static func scan(_ bytes: UnsafeRawBufferPointer) throws(RequestBodyScanError) -> RequestBodyScan {
        var scanner = Scanner(bytes: bytes)
        return try scanner.scanTopLevel()
    }
}

private struct Scanner {
    let bytes: UnsafeRawBufferPointer
    var i = 0

    init(bytes: UnsafeRawBufferPointer) { self.bytes = bytes }

    mutating func scanTopLevel() throws(RequestBodyScanError) -> RequestBodyScan {
        skipSpace()
        guard i < bytes.count, bytes[i] == UInt8(ascii: "{") else {
            if i >= bytes.count { throw .malformed(error("unexpected end of input")) }
            throw .notAnObject
        }
        i += 1
        var model: (String, Range<Int>)?
        var modelWasNotString = false
        var stream = false
        skipSpace()
        if i < bytes.count && bytes[i] == UInt8(ascii: "}") {
            i += 1
        } else {
            while true {
                skipSpace()
                guard i < bytes.count, bytes[i] == UInt8(ascii: "\"") else {
                    throw .malformed(error("expected '\"' to begin an object key"))
                }
                let keyStart = i
                try skipString()
                let isModel = isKey(keyStart, "model")
                let isStream = isKey(keyStart, "stream")
                skipSpace()
                guard i < bytes.count, bytes[i] == UInt8(ascii: ":") else { throw .malformed(error("expected ':' after object key")) }
                i += 1
                skipSpace()
                let valueStart = i
                try skipValue(depth: 1)
                if isModel {
                    if bytes[valueStart] == UInt8(ascii: "\"") {
                        guard let value = string(valueStart..<i) else { throw .malformed(error("invalid string")) }
                        model = (value, valueStart..<i)
                    } else {
                        modelWasNotString = true
                    }
                } else if isStream {
                    stream = i - valueStart == 4 && bytes[valueStart] == UInt8(ascii: "t")
                }
                skipSpace()
                guard i < bytes.count else { throw .malformed(error("unexpected end of input")) }
                if bytes[i] == UInt8(ascii: ",") {
                    i += 1
                    continue
                }
                guard bytes[i] == UInt8(ascii: "}") else { throw .malformed(error("expected ',' or '}' after object member")) }
                i += 1
                break
            }
        }
        skipSpace()
        guard i == bytes.count else { throw .malformed(error("trailing characters after the JSON value")) }
        if modelWasNotString { throw .modelNotAString }
        guard let model else { throw .missingModel }
        return RequestBodyScan(model: model.0, modelRange: model.1, stream: stream)
    }

    private func isKey(_ start: Int, _ name: StaticString) -> Bool {
        let length = name.utf8CodeUnitCount
        guard i - start == length + 2 else { return false }
        return name.withUTF8Buffer { key in
            for k in 0..<length where bytes[start + 1 + k] != key[k] { return false }
            return true
        }
    }

    private mutating func skipSpace() {
        while i < bytes.count {
            switch bytes[i] {
            case 0x20, 0x0a, 0x0d, 0x09: i += 1
            default: return
            }
        }
    }

    private mutating func skipString() throws(RequestBodyScanError) {
        i += 1
        while i < bytes.count {
            // A string's text (most of a chat request's bytes) is passed over eight bytes at a time
            // up to the next byte that needs a look: a quote, a backslash or a control character.
            while i &+ 8 <= bytes.count {
                let stops = Self.stops(in: UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: i, as: UInt64.self)))
                if stops == 0 {
                    i &+= 8
                } else {
                    i &+= stops.trailingZeroBitCount >> 3
                    break
                }
            }
            guard i < bytes.count else { break }
            let byte = bytes[i]
            if byte == UInt8(ascii: "\"") {
                i += 1
                return
            }
            if byte == UInt8(ascii: "\\") {
                i += 2
                continue
            }
            if byte < 0x20 { throw .malformed(error("unescaped control character in string")) }
            i += 1
        }
        throw .malformed(error("unterminated string"))
    }

    /// The high bit of each byte of `word` (eight bytes of the body, the first one lowest) that is
    /// a quote, a backslash or below 0x20. The lowest byte flagged is the first such byte; bytes
    /// above it may be flagged too (a borrow carries upward), so only the lowest counts.
    @inline(__always)
    private static func stops(in word: UInt64) -> UInt64 {
        let ones: UInt64 = 0x0101_0101_0101_0101
        let highBits: UInt64 = 0x8080_8080_8080_8080
        /// The bytes of `x` that are zero.
        func zeros(_ x: UInt64) -> UInt64 { (x &- ones) & ~x & highBits }
        let quotes = zeros(word ^ (ones &* UInt64(UInt8(ascii: "\""))))
        let backslashes = zeros(word ^ (ones &* UInt64(UInt8(ascii: "\\"))))
        let controls = (word &- ones &* 0x20) & ~word & highBits
        return quotes | backslashes | controls
    }

    private mutating func skipValue(depth: Int) throws(RequestBodyScanError) {
        guard depth <= 512 else { throw .malformed(error("nesting deeper than 512 levels")) }
        guard i < bytes.count else { throw .malformed(error("unexpected end of input")) }
        switch bytes[i] {
        case UInt8(ascii: "\""):
            try skipString()
        case UInt8(ascii: "{"), UInt8(ascii: "["):
            let close = bytes[i] == UInt8(ascii: "{") ? UInt8(ascii: "}") : UInt8(ascii: "]")
            let isObject = close == UInt8(ascii: "}")
            i += 1
            skipSpace()
            if i < bytes.count && bytes[i] == close {
                i += 1
                return
            }
            while true {
                skipSpace()
                if isObject {
                    guard i < bytes.count, bytes[i] == UInt8(ascii: "\"") else {
                        throw .malformed(error("expected '\"' to begin an object key"))
                    }
                    try skipString()
                    skipSpace()
                    guard i < bytes.count, bytes[i] == UInt8(ascii: ":") else { throw .malformed(error("expected ':' after object key")) }
                    i += 1
                    skipSpace()
                }
                try skipValue(depth: depth + 1)
                skipSpace()
                guard i < bytes.count else { throw .malformed(error("unexpected end of input")) }
                if bytes[i] == UInt8(ascii: ",") {
                    i += 1
                    continue
                }
                guard bytes[i] == close else {
                    throw .malformed(
                        error(isObject ? "expected ',' or '}' after object member" : "expected ',' or ']' after array element"))
                }
                i += 1
                return
            }
        default:
            let start = i
            while i < bytes.count {
                switch bytes[i] {
                case UInt8(ascii: ","), UInt8(ascii: "}"), UInt8(ascii: "]"), 0x20, 0x0a, 0x0d, 0x09:
                    break
                default:
                    i += 1
                    continue
                }
                break
            }
            guard i > start, isLiteralOrNumber(start..<i) else {
                i = start
                throw .malformed(error("invalid value"))
            }
        }
    }

    /// The value of the JSON string at `range` (quotes included); nil when it is not a valid one.
    private func string(_ range: Range<Int>) -> String? {
        let inner = UnsafeRawBufferPointer(rebasing: bytes[(range.lowerBound + 1)..<(range.upperBound - 1)])
        // Without escapes the bytes are the value (`skipString` has refused control characters);
        // ASCII needs no validation.
        var ascii = true
        for byte in inner {
            if byte == UInt8(ascii: "\\") { return (try? JSONValue.parse(UnsafeRawBufferPointer(rebasing: bytes[range])))?.stringValue }
            if byte >= 0x80 { ascii = false }
        }
        return ascii ? String(decoding: inner, as: UTF8.self) : String(validating: inner, as: UTF8.self)
    }

    /// Whether the bytes at `range` are `true`, `false`, `null` or a JSON number.
    private func isLiteralOrNumber(_ range: Range<Int>) -> Bool {
        let token = UnsafeRawBufferPointer(rebasing: bytes[range])
        if token.elementsEqual("true".utf8) || token.elementsEqual("false".utf8) || token.elementsEqual("null".utf8) { return true }
        // -? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?
        var j = token.startIndex
        func digits() -> Int {
            let from = j
            while j < token.endIndex, token[j] >= UInt8(ascii: "0"), token[j] <= UInt8(ascii: "9") { j += 1 }
            return j - from
        }
        if j < token.endIndex, token[j] == UInt8(ascii: "-") { j += 1 }
        guard j < token.endIndex else { return false }
        if token[j] == UInt8(ascii: "0") {
            j += 1
        } else if digits() == 0 {
            return false
        }
        if j < token.endIndex, token[j] == UInt8(ascii: ".") {
            j += 1
            guard digits() > 0 else { return false }
        }
        var exponent = false
        if j < token.endIndex, token[j] == UInt8(ascii: "e") || token[j] == UInt8(ascii: "E") {
            exponent = true
            j += 1
            if j < token.endIndex, token[j] == UInt8(ascii: "+") || token[j] == UInt8(ascii: "-") { j += 1 }
            guard digits() > 0 else { return false }
        }
        guard j == token.endIndex else { return false }
        // Only an exponent or some 300 digits can take a number out of a Double's range, which the
        // parser refuses: those few go to it.
        if exponent || token.count > 300 { return (try? JSONValue.parse(token)) != nil }
        return true
    }

    private func error(_ message: String) -> JSONSyntaxError {
        var line = 1
        var column = 1
        for k in 0..<min(i, bytes.count) {
            if bytes[k] == 0x0a {
                line += 1
                column = 1
            } else if bytes[k] & 0xC0 != 0x80 {
                column += 1
            }
        }
        return JSONSyntaxError(line: line, column: column, offset: i, message: message)
    }
}
