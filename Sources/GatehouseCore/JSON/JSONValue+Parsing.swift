// Strict RFC 8259 parser working directly on UTF-8 bytes (standard library only).

/// Where and why a JSON document failed to parse.
public struct JSONSyntaxError: Error, Sendable, Hashable, CustomStringConvertible {
    /// 1-based line. Lines end at "\n", "\r\n" or a lone "\r".
    public var line: Int
    /// 1-based column, counted in Unicode scalars of the line (not bytes). A leading byte order mark is not counted.
    public var column: Int
    /// 0-based byte offset into the input (a leading byte order mark counts).
    public var offset: Int
    public var message: String

    /// "line L, column C: message"
    public var description: String {
        "line \(line), column \(column): \(message)"
    }

    public init(line: Int, column: Int, offset: Int, message: String) {
        self.line = line
        self.column = column
        self.offset = offset
        self.message = message
    }
}

extension JSONValue {
    /// The deepest nesting of arrays and objects `parse` accepts.
    static let maximumNestingDepth = 512

    /// Parses one JSON document (RFC 8259). A UTF-8 BOM at the start is skipped; whitespace may follow the value, nothing else.
    public static func parse(_ bytes: some Collection<UInt8>) throws(JSONSyntaxError) -> JSONValue {
        let contiguous: Result<JSONValue, JSONSyntaxError>? = bytes.withContiguousStorageIfAvailable { buffer in
            JSONParser.parse(buffer)
        }
        if let contiguous {
            return try contiguous.get()
        }
        let copy = Array(bytes)
        return try copy.withUnsafeBufferPointer { buffer in
            JSONParser.parse(buffer)
        }.get()
    }

    /// Parses one JSON document (RFC 8259) from its text. A leading U+FEFF is skipped.
    public static func parse(_ text: String) throws(JSONSyntaxError) -> JSONValue {
        try parse(text.utf8)
    }
}

// MARK: - Parser

private enum ASCII {
    static let tab: UInt8 = 0x09
    static let newline: UInt8 = 0x0A
    static let carriageReturn: UInt8 = 0x0D
    static let space: UInt8 = 0x20
    static let quote: UInt8 = 0x22
    static let plus: UInt8 = 0x2B
    static let comma: UInt8 = 0x2C
    static let minus: UInt8 = 0x2D
    static let period: UInt8 = 0x2E
    static let slash: UInt8 = 0x2F
    static let zero: UInt8 = 0x30
    static let nine: UInt8 = 0x39
    static let colon: UInt8 = 0x3A
    static let upperE: UInt8 = 0x45
    static let leftBracket: UInt8 = 0x5B
    static let backslash: UInt8 = 0x5C
    static let rightBracket: UInt8 = 0x5D
    static let lowerB: UInt8 = 0x62
    static let lowerE: UInt8 = 0x65
    static let lowerF: UInt8 = 0x66
    static let lowerN: UInt8 = 0x6E
    static let lowerR: UInt8 = 0x72
    static let lowerT: UInt8 = 0x74
    static let lowerU: UInt8 = 0x75
    static let leftBrace: UInt8 = 0x7B
    static let rightBrace: UInt8 = 0x7D

    @inline(__always)
    static func isDigit(_ byte: UInt8) -> Bool {
        byte &- zero < 10
    }
}

private struct JSONParser {
    let input: UnsafeBufferPointer<UInt8>
    /// Where the document starts (after a byte order mark, if any).
    let start: Int
    let end: Int
    var position: Int
    /// Reused buffer for strings that contain escapes.
    var scratch: [UInt8] = []

    static func parse(_ input: UnsafeBufferPointer<UInt8>) -> Result<JSONValue, JSONSyntaxError> {
        var parser = JSONParser(input: input)
        do throws(JSONSyntaxError) {
            return .success(try parser.parseDocument())
        } catch {
            return .failure(error)
        }
    }

    init(input: UnsafeBufferPointer<UInt8>) {
        self.input = input
        self.end = input.count
        if input.count >= 3, input[0] == 0xEF, input[1] == 0xBB, input[2] == 0xBF {
            self.start = 3
        } else {
            self.start = 0
        }
        self.position = start
    }

    // MARK: Document and containers

    mutating func parseDocument() throws(JSONSyntaxError) -> JSONValue {
        let value = try parseValueTree()
        skipWhitespace()
        if position < end {
            throw makeError("trailing characters after the JSON value", at: position)
        }
        return value
    }

    /// An array or object that is open while its contents are parsed.
    struct OpenContainer {
        var isObject: Bool
        /// Where this container's entries begin in `elements` (arrays) or `members` (objects).
        var start: Int
        /// The keys of a large object, for the duplicate check; small objects are scanned instead.
        var keyIndex: Set<String>?
    }

    /// Objects with more members than this get a `keyIndex`.
    static let linearKeyScanLimit = 16

    /// Parses one value, nested containers included, without recursion (explicit stacks),
    /// so the depth limit and not the thread's stack size bounds what is accepted.
    /// Entries of open containers collect on two flat stacks, so each finished array or dictionary
    /// is allocated once at its final size.
    mutating func parseValueTree() throws(JSONSyntaxError) -> JSONValue {
        var open: [OpenContainer] = []
        var elements: [JSONValue] = []
        // The last member of each open object holds `.null` until its value is parsed.
        var members: [(key: String, value: JSONValue)] = []

        parsing: while true {
            var value: JSONValue
            skipWhitespace()
            guard position < end else { throw unexpectedEnd() }
            switch input[position] {
            case ASCII.leftBrace:
                if open.count >= JSONValue.maximumNestingDepth {
                    throw makeError("nesting deeper than \(JSONValue.maximumNestingDepth) levels", at: position)
                }
                position += 1
                skipWhitespace()
                if position < end, input[position] == ASCII.rightBrace {
                    position += 1
                    value = .object([:])
                } else {
                    let (key, _) = try parseMemberKey()
                    open.append(OpenContainer(isObject: true, start: members.count, keyIndex: nil))
                    members.append((key, .null))
                    continue parsing
                }
            case ASCII.leftBracket:
                if open.count >= JSONValue.maximumNestingDepth {
                    throw makeError("nesting deeper than \(JSONValue.maximumNestingDepth) levels", at: position)
                }
                position += 1
                skipWhitespace()
                if position < end, input[position] == ASCII.rightBracket {
                    position += 1
                    value = .array([])
                } else {
                    open.append(OpenContainer(isObject: false, start: elements.count, keyIndex: nil))
                    continue parsing
                }
            case ASCII.quote:
                value = .string(try parseString())
            case ASCII.lowerT:
                try expectLiteral("true")
                value = .bool(true)
            case ASCII.lowerF:
                try expectLiteral("false")
                value = .bool(false)
            case ASCII.lowerN:
                try expectLiteral("null")
                value = .null
            case ASCII.minus, ASCII.zero...ASCII.nine:
                value = try parseNumber()
            default:
                throw unexpectedCharacter(at: position)
            }

            // A complete value: add it to the innermost open container, closing containers as they end.
            while !open.isEmpty {
                let top = open.count - 1
                if open[top].isObject {
                    members[members.count - 1].value = value
                    skipWhitespace()
                    guard position < end else { throw unexpectedEnd() }
                    switch input[position] {
                    case ASCII.comma:
                        position += 1
                        skipWhitespace()
                        let (key, keyOffset) = try parseMemberKey()
                        if Self.isDuplicate(key, in: &open[top], members: members) {
                            throw makeError("duplicate key \"\(key)\"", at: keyOffset)
                        }
                        members.append((key, .null))
                        continue parsing
                    case ASCII.rightBrace:
                        position += 1
                        let start = open.removeLast().start
                        var object = [String: JSONValue](minimumCapacity: members.count - start)
                        for index in start..<members.count {
                            object[members[index].key] = members[index].value
                        }
                        members.removeSubrange(start...)
                        value = .object(object)
                    default:
                        throw makeError("expected ',' or '}' after object member", at: position)
                    }
                } else {
                    elements.append(value)
                    skipWhitespace()
                    guard position < end else { throw unexpectedEnd() }
                    switch input[position] {
                    case ASCII.comma:
                        position += 1
                        continue parsing
                    case ASCII.rightBracket:
                        position += 1
                        let start = open.removeLast().start
                        value = .array(Array(elements[start...]))
                        elements.removeSubrange(start...)
                    default:
                        throw makeError("expected ',' or ']' after array element", at: position)
                    }
                }
            }
            return value
        }
    }

    /// Whether `key` is already a member of `object` (whose members so far are `members[object.start...]`),
    /// with the same key equality as `Dictionary<String, _>` (Unicode canonical equivalence).
    /// Records `key` in the object's index when it has one.
    static func isDuplicate(_ key: String, in object: inout OpenContainer, members: [(key: String, value: JSONValue)]) -> Bool {
        if object.keyIndex == nil {
            if members.count - object.start < linearKeyScanLimit {
                for index in object.start..<members.count where members[index].key == key {
                    return true
                }
                return false
            }
            var keyIndex = Set<String>(minimumCapacity: 2 * linearKeyScanLimit)
            for index in object.start..<members.count {
                keyIndex.insert(members[index].key)
            }
            object.keyIndex = keyIndex
        }
        return !object.keyIndex!.insert(key).inserted
    }

    /// Parses `"key"` and the `:` after it, starting at the key (whitespace before it already skipped).
    /// Returns the key and the byte offset of its opening quote.
    mutating func parseMemberKey() throws(JSONSyntaxError) -> (String, Int) {
        guard position < end else { throw unexpectedEnd() }
        let keyOffset = position
        guard input[position] == ASCII.quote else {
            throw makeError("expected '\"' to begin an object key", at: position)
        }
        let key = try parseString()
        skipWhitespace()
        guard position < end else { throw unexpectedEnd() }
        guard input[position] == ASCII.colon else {
            throw makeError("expected ':' after object key", at: position)
        }
        position += 1
        return (key, keyOffset)
    }

    @inline(__always)
    mutating func skipWhitespace() {
        while position < end {
            switch input[position] {
            case ASCII.space, ASCII.newline, ASCII.carriageReturn, ASCII.tab:
                position += 1
            default:
                return
            }
        }
    }

    mutating func expectLiteral(_ literal: StaticString) throws(JSONSyntaxError) {
        let expected = UnsafeBufferPointer(start: literal.utf8Start, count: literal.utf8CodeUnitCount)
        for byte in expected {
            guard position < end else { throw unexpectedEnd() }
            guard input[position] == byte else { throw unexpectedCharacter(at: position) }
            position += 1
        }
    }

    // MARK: Strings

    /// Parses a string starting at its opening quote; leaves `position` after the closing quote.
    mutating func parseString() throws(JSONSyntaxError) -> String {
        let openingQuote = position
        position += 1
        var runStart = position
        var escaped = false
        while true {
            // Fast path: plain ASCII.
            while position < end {
                let byte = input[position]
                if byte == ASCII.quote || byte == ASCII.backslash || byte < 0x20 || byte >= 0x80 { break }
                position += 1
            }
            guard position < end else {
                throw makeError("unterminated string", at: openingQuote)
            }
            let byte = input[position]
            switch byte {
            case ASCII.quote:
                let run = UnsafeBufferPointer(rebasing: input[runStart..<position])
                position += 1
                if !escaped {
                    return String(decoding: run, as: UTF8.self)
                }
                scratch.append(contentsOf: run)
                return String(decoding: scratch, as: UTF8.self)
            case ASCII.backslash:
                if !escaped {
                    escaped = true
                    scratch.removeAll(keepingCapacity: true)
                }
                scratch.append(contentsOf: UnsafeBufferPointer(rebasing: input[runStart..<position]))
                try parseEscape(openingQuote: openingQuote)
                runStart = position
            case 0..<0x20:
                throw makeError("unescaped control character \(scalarName(UInt32(byte))) in string", at: position)
            default:
                guard let length = validUTF8Length(at: position) else {
                    throw makeError("invalid UTF-8", at: position)
                }
                position += length
            }
        }
    }

    /// Decodes the escape at `position` (a backslash) into `scratch`.
    mutating func parseEscape(openingQuote: Int) throws(JSONSyntaxError) {
        let backslash = position
        guard backslash + 1 < end else {
            throw makeError("unterminated string", at: openingQuote)
        }
        let decoded: UInt8
        switch input[backslash + 1] {
        case ASCII.quote: decoded = ASCII.quote
        case ASCII.backslash: decoded = ASCII.backslash
        case ASCII.slash: decoded = ASCII.slash
        case ASCII.lowerB: decoded = 0x08
        case ASCII.lowerF: decoded = 0x0C
        case ASCII.lowerN: decoded = ASCII.newline
        case ASCII.lowerR: decoded = ASCII.carriageReturn
        case ASCII.lowerT: decoded = ASCII.tab
        case ASCII.lowerU:
            try parseUnicodeEscape(openingQuote: openingQuote)
            return
        default:
            let character = backslash + 1
            if input[character] >= 0x80, validUTF8Length(at: character) == nil {
                throw makeError("invalid UTF-8", at: character)
            }
            throw makeError("invalid escape \\\(characterText(at: character))", at: backslash)
        }
        scratch.append(decoded)
        position = backslash + 2
    }

    /// Decodes `\uXXXX` (and a following low surrogate escape when the first is a high surrogate).
    mutating func parseUnicodeEscape(openingQuote: Int) throws(JSONSyntaxError) {
        let first = position
        let high = try hexQuad(escapeAt: first, openingQuote: openingQuote)
        var scalarValue = UInt32(high)
        position = first + 6
        switch high {
        case 0xD800...0xDBFF:
            guard position + 1 < end,
                  input[position] == ASCII.backslash,
                  input[position + 1] == ASCII.lowerU
            else {
                throw loneSurrogate(escapeAt: first)
            }
            let low = try hexQuad(escapeAt: position, openingQuote: openingQuote)
            guard (0xDC00...0xDFFF).contains(low) else {
                throw loneSurrogate(escapeAt: first)
            }
            scalarValue = 0x10000 + ((UInt32(high) - 0xD800) << 10) + (UInt32(low) - 0xDC00)
            position += 6
        case 0xDC00...0xDFFF:
            throw loneSurrogate(escapeAt: first)
        default:
            break
        }
        appendUTF8(scalarValue)
    }

    /// The four hex digits of the `\u` escape whose backslash is at `escape`.
    func hexQuad(escapeAt escape: Int, openingQuote: Int) throws(JSONSyntaxError) -> UInt16 {
        var value: UInt16 = 0
        for index in (escape + 2)..<(escape + 6) {
            guard index < end else {
                throw makeError("unterminated string", at: openingQuote)
            }
            let byte = input[index]
            let digit: UInt8
            switch byte {
            case 0x30...0x39: digit = byte - 0x30
            case 0x41...0x46: digit = byte - 0x41 + 10
            case 0x61...0x66: digit = byte - 0x61 + 10
            default:
                throw makeError("invalid escape \\u\(asciiText(escape + 2, index + 1)): expected four hex digits", at: escape)
            }
            value = value << 4 | UInt16(digit)
        }
        return value
    }

    func loneSurrogate(escapeAt escape: Int) -> JSONSyntaxError {
        makeError("lone surrogate \\u\(asciiText(escape + 2, escape + 6))", at: escape)
    }

    mutating func appendUTF8(_ scalar: UInt32) {
        switch scalar {
        case 0..<0x80:
            scratch.append(UInt8(scalar))
        case 0x80..<0x800:
            scratch.append(UInt8(0xC0 | (scalar >> 6)))
            scratch.append(UInt8(0x80 | (scalar & 0x3F)))
        case 0x800..<0x10000:
            scratch.append(UInt8(0xE0 | (scalar >> 12)))
            scratch.append(UInt8(0x80 | ((scalar >> 6) & 0x3F)))
            scratch.append(UInt8(0x80 | (scalar & 0x3F)))
        default:
            scratch.append(UInt8(0xF0 | (scalar >> 18)))
            scratch.append(UInt8(0x80 | ((scalar >> 12) & 0x3F)))
            scratch.append(UInt8(0x80 | ((scalar >> 6) & 0x3F)))
            scratch.append(UInt8(0x80 | (scalar & 0x3F)))
        }
    }

    /// The length of the well-formed UTF-8 sequence (RFC 3629) starting at `index`, or nil if it is ill-formed.
    func validUTF8Length(at index: Int) -> Int? {
        let lead = input[index]
        switch lead {
        case 0x00...0x7F:
            return 1
        case 0xC2...0xDF:
            return continuation(index + 1) ? 2 : nil
        case 0xE0:
            return continuation(index + 1, 0xA0...0xBF) && continuation(index + 2) ? 3 : nil
        case 0xE1...0xEC, 0xEE...0xEF:
            return continuation(index + 1) && continuation(index + 2) ? 3 : nil
        case 0xED:
            return continuation(index + 1, 0x80...0x9F) && continuation(index + 2) ? 3 : nil
        case 0xF0:
            return continuation(index + 1, 0x90...0xBF) && continuation(index + 2) && continuation(index + 3) ? 4 : nil
        case 0xF1...0xF3:
            return continuation(index + 1) && continuation(index + 2) && continuation(index + 3) ? 4 : nil
        case 0xF4:
            return continuation(index + 1, 0x80...0x8F) && continuation(index + 2) && continuation(index + 3) ? 4 : nil
        default:
            return nil
        }
    }

    @inline(__always)
    func continuation(_ index: Int, _ range: ClosedRange<UInt8> = 0x80...0xBF) -> Bool {
        index < end && range.contains(input[index])
    }

    // MARK: Numbers

    /// Parses a number starting at `position` (a '-' or a digit).
    mutating func parseNumber() throws(JSONSyntaxError) -> JSONValue {
        let numberStart = position
        let negative = input[position] == ASCII.minus
        if negative {
            position += 1
        }
        let digitsStart = position
        guard position < end else { throw unexpectedEnd() }
        let first = input[position]
        if first == ASCII.zero {
            position += 1
            if position < end, ASCII.isDigit(input[position]) {
                throw makeError("invalid number: leading zeros are not allowed", at: digitsStart)
            }
        } else if ASCII.isDigit(first) {
            position += 1
            while position < end, ASCII.isDigit(input[position]) {
                position += 1
            }
        } else {
            throw makeError("invalid number: expected a digit after '-'", at: position)
        }
        let digitsEnd = position
        var isInteger = true

        if position < end, input[position] == ASCII.period {
            isInteger = false
            position += 1
            guard position < end else { throw unexpectedEnd() }
            guard ASCII.isDigit(input[position]) else {
                throw makeError("invalid number: expected a digit after '.'", at: position)
            }
            while position < end, ASCII.isDigit(input[position]) {
                position += 1
            }
        }
        if position < end, input[position] == ASCII.lowerE || input[position] == ASCII.upperE {
            isInteger = false
            position += 1
            if position < end, input[position] == ASCII.plus || input[position] == ASCII.minus {
                position += 1
            }
            guard position < end else { throw unexpectedEnd() }
            guard ASCII.isDigit(input[position]) else {
                throw makeError("invalid number: expected a digit in the exponent", at: position)
            }
            while position < end, ASCII.isDigit(input[position]) {
                position += 1
            }
        }

        if isInteger, let integer = integerValue(digitsStart, digitsEnd, negative: negative) {
            return .int(integer)
        }
        let text = String(decoding: UnsafeBufferPointer(rebasing: input[numberStart..<position]), as: UTF8.self)
        guard let double = Double(text), double.isFinite else {
            throw makeError("number out of range", at: numberStart)
        }
        return .double(double)
    }

    /// The decimal digits in `start..<end` as an `Int64` (negated if `negative`), or nil if it does not fit.
    func integerValue(_ start: Int, _ end: Int, negative: Bool) -> Int64? {
        var value: Int64 = 0
        if end - start <= 18 {
            // At most 18 digits always fits.
            for index in start..<end {
                value = value &* 10 &+ Int64(input[index] &- ASCII.zero)
            }
            return negative ? -value : value
        }
        for index in start..<end {
            let digit = Int64(input[index] &- ASCII.zero)
            let (shifted, overflow1) = value.multipliedReportingOverflow(by: 10)
            let (next, overflow2) = negative
                ? shifted.subtractingReportingOverflow(digit)
                : shifted.addingReportingOverflow(digit)
            if overflow1 || overflow2 {
                return nil
            }
            value = next
        }
        return value
    }

    // MARK: Errors

    func unexpectedEnd() -> JSONSyntaxError {
        makeError("unexpected end of input", at: end)
    }

    func unexpectedCharacter(at index: Int) -> JSONSyntaxError {
        if input[index] >= 0x80, validUTF8Length(at: index) == nil {
            return makeError("invalid UTF-8", at: index)
        }
        return makeError("unexpected character \(characterText(at: index, quoted: true))", at: index)
    }

    /// The character at `index` for a message: printable ASCII as is, other ASCII as U+XXXX,
    /// non-ASCII as the character followed by its U+XXXX. `index` must start a well-formed sequence.
    func characterText(at index: Int, quoted: Bool = false) -> String {
        let byte = input[index]
        if byte < 0x20 || byte == 0x7F {
            return scalarName(UInt32(byte))
        }
        let length = validUTF8Length(at: index) ?? 1
        let text = String(decoding: UnsafeBufferPointer(rebasing: input[index..<(index + length)]), as: UTF8.self)
        let shown = quoted ? "'\(text)'" : text
        if byte < 0x80 {
            return shown
        }
        let value = text.unicodeScalars.first.map(\.value) ?? 0xFFFD
        return "\(shown) (\(scalarName(value)))"
    }

    /// "U+000A"
    func scalarName(_ value: UInt32) -> String {
        let hex = String(value, radix: 16, uppercase: true)
        return "U+" + String(repeating: "0", count: max(0, 4 - hex.count)) + hex
    }

    /// The bytes in `from..<to` (clamped to the input) as text; they are ASCII or replaced.
    func asciiText(_ from: Int, _ to: Int) -> String {
        let upper = min(to, end)
        guard from < upper else { return "" }
        var text = ""
        for index in from..<upper {
            let byte = input[index]
            text.append(byte >= 0x20 && byte < 0x7F ? Character(Unicode.Scalar(byte)) : "\u{FFFD}")
        }
        return text
    }

    /// An error at byte `offset`, with its line and column (in Unicode scalars) computed from the input.
    func makeError(_ message: String, at offset: Int) -> JSONSyntaxError {
        var line = 1
        var column = 1
        var index = start
        while index < offset {
            let byte = input[index]
            if byte == ASCII.newline {
                line += 1
                column = 1
            } else if byte == ASCII.carriageReturn {
                if index + 1 >= end || input[index + 1] != ASCII.newline {
                    line += 1
                    column = 1
                }
            } else if byte & 0xC0 != 0x80 {
                column += 1
            }
            index += 1
        }
        return JSONSyntaxError(line: line, column: column, offset: offset, message: message)
    }
}
