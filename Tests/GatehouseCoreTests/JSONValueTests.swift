import GatehouseCore
import Testing

@Suite struct JSONValueTests {

    // MARK: - Parsing values

    static let valueCases: [(String, JSONValue)] = [
        ("null", .null),
        ("true", .bool(true)),
        ("false", .bool(false)),
        ("42", .int(42)),
        ("-7", .int(-7)),
        ("3.25", .double(3.25)),
        (#""hello""#, .string("hello")),
        (#""""#, .string("")),
        ("[]", .array([])),
        ("{}", .object([:])),
        ("[1, \"two\", null, [true]]", .array([.int(1), .string("two"), .null, .array([.bool(true)])])),
        (#"{"a": 1, "b": {"c": [false, 2.5]}, "d": "x"}"#,
         .object(["a": .int(1), "b": .object(["c": .array([.bool(false), .double(2.5)])]), "d": .string("x")])),
        (" \t\r\n [ 1 , 2 ] \n\t ", .array([.int(1), .int(2)])),
        (#"{"k" : "v" }"#, .object(["k": .string("v")])),
        (#""héllo wörld 中文 😀""#, .string("héllo wörld 中文 😀")),
        (#"[[[[]]], {"": {}}]"#, .array([.array([.array([.array([])])]), .object(["": .object([:])])])),
    ]

    @Test(arguments: valueCases)
    func parsesEveryKind(_ text: String, _ expected: JSONValue) throws {
        #expect(try JSONValue.parse(text) == expected)
        #expect(try JSONValue.parse(Array(text.utf8)) == expected)
    }

    static let numberCases: [(String, JSONValue)] = [
        ("0", .int(0)),
        ("-0", .int(0)),
        ("1", .int(1)),
        ("9223372036854775807", .int(Int64.max)),
        ("-9223372036854775808", .int(Int64.min)),
        ("999999999999999999", .int(999_999_999_999_999_999)),
        ("-999999999999999999", .int(-999_999_999_999_999_999)),
        ("9223372036854775808", .double(9_223_372_036_854_775_808.0)),
        ("-9223372036854775809", .double(-9_223_372_036_854_775_809.0)),
        ("123456789012345678901234567890", .double(1.2345678901234568e29)),
        ("1.5e3", .double(1500)),
        ("1E2", .double(100)),
        ("2.5E+2", .double(250)),
        ("1e-2", .double(0.01)),
        ("1.0", .double(1)),
        ("0.1", .double(0.1)),
        ("-0.0", .double(-0.0)),
        ("0e0", .double(0)),
        ("1e-400", .double(0)),
        ("1.7976931348623157e308", .double(Double.greatestFiniteMagnitude)),
        ("5e-324", .double(Double.leastNonzeroMagnitude)),
    ]

    @Test(arguments: numberCases)
    func distinguishesIntegersFromDoubles(_ text: String, _ expected: JSONValue) throws {
        let value = try JSONValue.parse(text)
        #expect(value == expected)
        // Hashable equality of doubles ignores the sign of zero; check the case and the sign too.
        switch (value, expected) {
        case (.int, .int):
            break
        case (.double(let parsed), .double(let wanted)):
            #expect(parsed.sign == wanted.sign)
        default:
            Issue.record("\(text) parsed as \(value.typeName), expected \(expected.typeName)")
        }
    }

    @Test func negativeZeroIntegerIsIntAndNegativeZeroFractionIsDouble() throws {
        #expect(try JSONValue.parse("-0") == .int(0))
        guard case .double(let d) = try JSONValue.parse("-0.0") else {
            Issue.record("-0.0 should be a double")
            return
        }
        #expect(d == 0 && d.sign == .minus)
    }

    static let stringCases: [(String, String)] = [
        (#""\"\\\/\b\f\n\r\t""#, "\"\\/\u{8}\u{C}\n\r\t"),
        (#""\u0041\u00e9\u00E9\u4e2d""#, "Aéé中"),
        (#""\ud83d\ude00""#, "😀"),
        (#""\uD834\uDD1E clef""#, "𝄞 clef"),
        (#""a\u0000b""#, "a\u{0}b"),
        (#""\u001f\u007f""#, "\u{1F}\u{7F}"),
        (#""x\\ny""#, "x\\ny"),
        (#""raw 😀 and \ud83d\ude00""#, "raw 😀 and 😀"),
        (#""\u2028\u2029\ufeff""#, "\u{2028}\u{2029}\u{FEFF}"),
        (#""tail\n""#, "tail\n"),
    ]

    @Test(arguments: stringCases)
    func decodesEscapes(_ text: String, _ expected: String) throws {
        #expect(try JSONValue.parse(text) == .string(expected))
        // Escaped keys too.
        let object = try JSONValue.parse("{\(text): 1}")
        #expect(object[expected] == .int(1))
    }

    @Test func skipsByteOrderMark() throws {
        #expect(try JSONValue.parse([0xEF, 0xBB, 0xBF] + Array("{\"a\": [1]}".utf8)) == ["a": [1]])
        #expect(try JSONValue.parse("\u{FEFF}[true]") == [true])
        #expect(try JSONValue.parse("\u{FEFF} 1 ") == 1)
        // Only at the very start.
        let error = try #require(throws: JSONSyntaxError.self) { try JSONValue.parse(" \u{FEFF}1") }
        #expect(error == JSONSyntaxError(line: 1, column: 2, offset: 1, message: "unexpected character '\u{FEFF}' (U+FEFF)"))
        // The BOM counts in the byte offset but not in the column.
        let afterBOM = try #require(throws: JSONSyntaxError.self) { try JSONValue.parse("\u{FEFF}x") }
        #expect(afterBOM == JSONSyntaxError(line: 1, column: 1, offset: 3, message: "unexpected character 'x'"))
    }

    @Test func parsesNonContiguousCollections() throws {
        let reversed = Array(#"["é",1]"#.utf8.reversed()).reversed()
        #expect(try JSONValue.parse(reversed) == ["é", 1])
        #expect(try JSONValue.parse(#"x{"a":null}"#.utf8.dropFirst()) == ["a": nil])
    }

    // MARK: - Errors

    struct ErrorCase: Sendable, CustomTestStringConvertible {
        var input: String
        var line: Int
        var column: Int
        var message: String
        var testDescription: String { input.debugDescription }

        init(_ input: String, _ line: Int, _ column: Int, _ message: String) {
            self.input = input
            self.line = line
            self.column = column
            self.message = message
        }
    }

    static let errorCases: [ErrorCase] = [
        // Structure
        ErrorCase(#"{"a":1 "b":2}"#, 1, 8, "expected ',' or '}' after object member"),
        ErrorCase("[1 2]", 1, 4, "expected ',' or ']' after array element"),
        ErrorCase(#"{"a" 1}"#, 1, 6, "expected ':' after object key"),
        ErrorCase(#"{"a":1,}"#, 1, 8, "expected '\"' to begin an object key"),
        ErrorCase("{'a':1}", 1, 2, "expected '\"' to begin an object key"),
        ErrorCase("{1:2}", 1, 2, "expected '\"' to begin an object key"),
        ErrorCase("[1,]", 1, 4, "unexpected character ']'"),
        ErrorCase("[,1]", 1, 2, "unexpected character ','"),
        ErrorCase("", 1, 1, "unexpected end of input"),
        ErrorCase("   ", 1, 4, "unexpected end of input"),
        ErrorCase("[1,", 1, 4, "unexpected end of input"),
        ErrorCase("[1,2", 1, 5, "unexpected end of input"),
        ErrorCase(#"{"a":"#, 1, 6, "unexpected end of input"),
        ErrorCase(#"{"a""#, 1, 5, "unexpected end of input"),
        ErrorCase("{", 1, 2, "unexpected end of input"),
        ErrorCase("tru", 1, 4, "unexpected end of input"),
        ErrorCase("1 2", 1, 3, "trailing characters after the JSON value"),
        ErrorCase(#"{"a":1}}"#, 1, 8, "trailing characters after the JSON value"),
        ErrorCase("[1] // comment", 1, 5, "trailing characters after the JSON value"),
        ErrorCase("1.5.3", 1, 4, "trailing characters after the JSON value"),
        ErrorCase("truex", 1, 5, "trailing characters after the JSON value"),
        // Not JSON
        ErrorCase("x", 1, 1, "unexpected character 'x'"),
        ErrorCase("'a'", 1, 1, "unexpected character '''"),
        ErrorCase("// c\n1", 1, 1, "unexpected character '/'"),
        ErrorCase("/* c */ 1", 1, 1, "unexpected character '/'"),
        ErrorCase("+1", 1, 1, "unexpected character '+'"),
        ErrorCase("NaN", 1, 1, "unexpected character 'N'"),
        ErrorCase("nan", 1, 2, "unexpected character 'a'"),
        ErrorCase("Infinity", 1, 1, "unexpected character 'I'"),
        ErrorCase("True", 1, 1, "unexpected character 'T'"),
        ErrorCase("nul1", 1, 4, "unexpected character '1'"),
        ErrorCase("[.5]", 1, 2, "unexpected character '.'"),
        ErrorCase("\u{7}", 1, 1, "unexpected character U+0007"),
        ErrorCase("é", 1, 1, "unexpected character 'é' (U+00E9)"),
        // Numbers
        ErrorCase("-Infinity", 1, 2, "invalid number: expected a digit after '-'"),
        ErrorCase("-", 1, 2, "unexpected end of input"),
        ErrorCase("01", 1, 1, "invalid number: leading zeros are not allowed"),
        ErrorCase("[-01]", 1, 3, "invalid number: leading zeros are not allowed"),
        ErrorCase("1.", 1, 3, "unexpected end of input"),
        ErrorCase("1.e5", 1, 3, "invalid number: expected a digit after '.'"),
        ErrorCase("1e", 1, 3, "unexpected end of input"),
        ErrorCase("[1e+]", 1, 5, "invalid number: expected a digit in the exponent"),
        ErrorCase("1e999", 1, 1, "number out of range"),
        ErrorCase("[0, -1e999]", 1, 5, "number out of range"),
        ErrorCase("[1" + String(repeating: "0", count: 400) + ".0]", 1, 2, "number out of range"),
        // Strings
        ErrorCase(#""abc"#, 1, 1, "unterminated string"),
        ErrorCase(#"["ok", "abc"#, 1, 8, "unterminated string"),
        ErrorCase(#""abc\"#, 1, 1, "unterminated string"),
        ErrorCase(#""\""#, 1, 1, "unterminated string"),
        ErrorCase(#""\u12"#, 1, 1, "unterminated string"),
        ErrorCase(#""\q""#, 1, 2, #"invalid escape \q"#),
        ErrorCase(#""ab\x41""#, 1, 4, #"invalid escape \x"#),
        ErrorCase(#""\'""#, 1, 2, #"invalid escape \'"#),
        ErrorCase(#""\é""#, 1, 2, #"invalid escape \é (U+00E9)"#),
        ErrorCase(#""\u12G4""#, 1, 2, #"invalid escape \u12G: expected four hex digits"#),
        ErrorCase(#""\ud83d""#, 1, 2, #"lone surrogate \ud83d"#),
        ErrorCase(#""\ude00x""#, 1, 2, #"lone surrogate \ude00"#),
        ErrorCase(#""ab\ud83d\u0041""#, 1, 4, #"lone surrogate \ud83d"#),
        ErrorCase(#""\ud83dx""#, 1, 2, #"lone surrogate \ud83d"#),
        ErrorCase(#""\uD83D\uD83D""#, 1, 2, #"lone surrogate \uD83D"#),
        ErrorCase("\"a\nb\"", 1, 3, "unescaped control character U+000A in string"),
        ErrorCase("\"tab\there\"", 1, 5, "unescaped control character U+0009 in string"),
        ErrorCase("\"\u{0}\"", 1, 2, "unescaped control character U+0000 in string"),
        // Duplicate keys
        ErrorCase(#"{"x":1,"x":2}"#, 1, 8, #"duplicate key "x""#),
        ErrorCase(#"{"a":{"b":1,"b":2}}"#, 1, 13, #"duplicate key "b""#),
        ErrorCase(#"{"a":1,"\u0061":2}"#, 1, 8, #"duplicate key "a""#),
        // Positions on later lines
        ErrorCase("{\n  \"a\": 1,\n  \"b\": [1, 2,, 3]\n}", 3, 14, "unexpected character ','"),
        ErrorCase("[\r\n1,\r\n x]", 3, 2, "unexpected character 'x'"),
        ErrorCase("[\r1,\r x]", 3, 2, "unexpected character 'x'"),
        ErrorCase("{\n  \"token\": \"abc\",\n  \"token\": \"def\"\n}", 3, 3, #"duplicate key "token""#),
        ErrorCase("[\n  1,\n  2\n", 4, 1, "unexpected end of input"),
        // Columns count Unicode scalars, not bytes
        ErrorCase(#"{"clé": "värde" x}"#, 1, 17, "expected ',' or '}' after object member"),
        ErrorCase(#"["😀", x]"#, 1, 7, "unexpected character 'x'"),
        ErrorCase("[\"中文\",\n \"ü\" ü]", 2, 6, "expected ',' or ']' after array element"),
    ]

    @Test(arguments: errorCases)
    func reportsErrorPosition(_ errorCase: ErrorCase) throws {
        let error = try #require(throws: JSONSyntaxError.self) { try JSONValue.parse(errorCase.input) }
        #expect(error.message == errorCase.message)
        #expect(error.line == errorCase.line)
        #expect(error.column == errorCase.column)
        #expect(error.description == "line \(errorCase.line), column \(errorCase.column): \(errorCase.message)")
        // Single-line ASCII input: the byte offset is the column minus one.
        if errorCase.line == 1, errorCase.input.utf8.allSatisfy({ $0 < 0x80 }) {
            #expect(error.offset == errorCase.column - 1)
        }
    }

    @Test func byteOffsetsCountBytesAndColumnsCountScalars() throws {
        let accented = try #require(throws: JSONSyntaxError.self) { try JSONValue.parse(#"{"clé": "värde" x}"#) }
        #expect(accented == JSONSyntaxError(line: 1, column: 17, offset: 18, message: "expected ',' or '}' after object member"))
        let emoji = try #require(throws: JSONSyntaxError.self) { try JSONValue.parse(#"["😀", x]"#) }
        #expect(emoji == JSONSyntaxError(line: 1, column: 7, offset: 9, message: "unexpected character 'x'"))
        let multiLine = try #require(throws: JSONSyntaxError.self) {
            try JSONValue.parse("{\n  \"naïve\": true,\n  \"ß\": tru }")
        }
        #expect(multiLine == JSONSyntaxError(line: 3, column: 11, offset: 31, message: "unexpected character ' '"))
    }

    /// (bytes, byte offset, column)
    static let invalidUTF8Cases: [([UInt8], Int, Int)] = [
        ([0x22, 0x61, 0xFF, 0x22], 2, 3),                    // never valid
        ([0x22, 0xC0, 0xAF, 0x22], 1, 2),                    // overlong "/"
        ([0x22, 0xE0, 0x80, 0xAF, 0x22], 1, 2),              // overlong, 3 bytes
        ([0x22, 0xED, 0xA0, 0x80, 0x22], 1, 2),              // encoded surrogate U+D800
        ([0x22, 0xF4, 0x90, 0x80, 0x80, 0x22], 1, 2),        // beyond U+10FFFF
        ([0x22, 0xE2, 0x82, 0x22], 1, 2),                    // truncated "€"
        ([0x22, 0xC3, 0xA9, 0x80, 0x22], 3, 3),              // "é" then a stray continuation byte
        ([0x22, 0xE2, 0x82], 1, 2),                          // truncated at end of input
        ([0x5B, 0xFF, 0x5D], 1, 2),                          // outside a string
        ([0x22, 0x5C, 0xC3, 0x22], 2, 3),                    // after a backslash
    ]

    @Test(arguments: invalidUTF8Cases)
    func rejectsInvalidUTF8(_ bytes: [UInt8], _ offset: Int, _ column: Int) throws {
        let error = try #require(throws: JSONSyntaxError.self) { try JSONValue.parse(bytes) }
        #expect(error == JSONSyntaxError(line: 1, column: column, offset: offset, message: "invalid UTF-8"))
    }

    @Test func acceptsAllWellFormedUTF8Boundaries() throws {
        // U+0080, U+07FF, U+0800, U+D7FF, U+E000, U+FFFF, U+10000, U+10FFFF written raw.
        let text = "\u{80}\u{7FF}\u{800}\u{D7FF}\u{E000}\u{FFFF}\u{10000}\u{10FFFF}"
        #expect(try JSONValue.parse("\"" + text + "\"") == .string(text))
    }

    @Test func duplicateKeysAreErrorsNotSilentlyDropped() throws {
        let document = """
            {
              "profiles": {
                "anthropic:default": {"key": "sk-1"},
                "anthropic:default": {"key": "sk-2"}
              }
            }
            """
        let error = try #require(throws: JSONSyntaxError.self) { try JSONValue.parse(document) }
        #expect(error.message == #"duplicate key "anthropic:default""#)
        #expect(error.line == 4)
        #expect(error.column == 5)
        #expect(error.description == #"line 4, column 5: duplicate key "anthropic:default""#)
        // The same key in different objects is fine.
        #expect(try JSONValue.parse(#"[{"a":1},{"a":2},{"b":{"a":3}}]"#) == [["a": 1], ["a": 2], ["b": ["a": 3]]])
    }

    @Test(arguments: [1, 5, 15, 16, 17, 40, 300])
    func duplicateKeysInObjectsOfAnySize(memberCount: Int) throws {
        let body = (0..<memberCount).map { "\"key\($0)\": \($0)" }.joined(separator: ", ")
        let unique = try JSONValue.parse("{\(body)}")
        #expect(unique.objectValue?.count == memberCount)
        #expect(unique["key\(memberCount - 1)"] == .int(Int64(memberCount - 1)))
        for duplicated in Set([0, memberCount / 2, memberCount - 1]) {
            let last = "\"key\(duplicated)\": true}"
            let text = "{\(body), \(last)"
            let error = try #require(throws: JSONSyntaxError.self) { try JSONValue.parse(text) }
            #expect(error.message == "duplicate key \"key\(duplicated)\"")
            #expect(error.offset == text.utf8.count - last.utf8.count)
        }
    }

    @Test func canonicallyEquivalentKeysAreDuplicates() throws {
        // Dictionary<String, _> treats "é" and "e\u{301}" as one key, so accepting both would drop one.
        let error = try #require(throws: JSONSyntaxError.self) { try JSONValue.parse(#"{"\u00e9": 1, "e\u0301": 2}"#) }
        #expect(error.message == "duplicate key \"e\u{301}\"")
        #expect(error.column == 15)
    }

    @Test func nestingDepthLimit() throws {
        let deepest = String(repeating: "[", count: 512) + String(repeating: "]", count: 512)
        var value = try JSONValue.parse(deepest)
        var depth = 0
        while case .array(let elements) = value {
            depth += 1
            value = elements.first ?? .null
        }
        #expect(depth == 512)

        let tooDeep = String(repeating: "[", count: 513) + String(repeating: "]", count: 513)
        let error = try #require(throws: JSONSyntaxError.self) { try JSONValue.parse(tooDeep) }
        #expect(error == JSONSyntaxError(line: 1, column: 513, offset: 512, message: "nesting deeper than 512 levels"))

        let objects = String(repeating: #"{"a":"#, count: 513) + "1" + String(repeating: "}", count: 513)
        let objectError = try #require(throws: JSONSyntaxError.self) { try JSONValue.parse(objects) }
        #expect(objectError == JSONSyntaxError(line: 1, column: 2561, offset: 2560, message: "nesting deeper than 512 levels"))
        let deepObjects = String(repeating: #"{"a":"#, count: 512) + "1" + String(repeating: "}", count: 512)
        #expect(try JSONValue.parse(deepObjects).serializedString(pretty: false) == deepObjects)

        // The deepest accepted document survives a round trip in both styles.
        let deepestValue = try JSONValue.parse(deepest)
        #expect(try JSONValue.parse(deepestValue.serialized(pretty: true)) == deepestValue)
        #expect(deepestValue.serializedString(pretty: false) == deepest)
    }

    // MARK: - Serialization

    static let sample: JSONValue = [
        "name": "gate",
        "n": 1,
        "list": [1, 2.5, nil, true],
        "empty": [],
        "obj": [:],
        "nested": ["b": false, "a": "x\ny"],
    ]

    @Test func prettyOutputIsExact() {
        let expected = #"""
            {
              "empty": [],
              "list": [
                1,
                2.5,
                null,
                true
              ],
              "n": 1,
              "name": "gate",
              "nested": {
                "a": "x\ny",
                "b": false
              },
              "obj": {}
            }

            """#
        #expect(Self.sample.serializedString() == expected)
        #expect(Self.sample.serializedString(pretty: true) == expected)
        #expect(Self.sample.serialized() == Array(expected.utf8))
    }

    @Test func compactOutputIsExact() {
        let expected = #"{"empty":[],"list":[1,2.5,null,true],"n":1,"name":"gate","nested":{"a":"x\ny","b":false},"obj":{}}"#
        #expect(Self.sample.serializedString(pretty: false) == expected)
        #expect(Self.sample.serialized(pretty: false) == Array(expected.utf8))
    }

    static let scalarOutputCases: [(JSONValue, String)] = [
        (.null, "null"),
        (.bool(true), "true"),
        (.bool(false), "false"),
        (.int(0), "0"),
        (.int(-42), "-42"),
        (.int(Int64.max), "9223372036854775807"),
        (.int(Int64.min), "-9223372036854775808"),
        (.double(0.1), "0.1"),
        (.double(1e20), "1e+20"),
        (.double(1.0), "1.0"),
        (.double(-0.0), "-0.0"),
        (.double(1.5e-7), "1.5e-07"),
        (.double(.leastNonzeroMagnitude), "5e-324"),
        (.double(123456789.0), "123456789.0"),
        (.double(Double.infinity), "null"),
        (.double(-Double.infinity), "null"),
        (.double(Double.nan), "null"),
        (.string(""), #""""#),
        (.string("a/b"), #""a/b""#),
        (.string("quote \" backslash \\"), #""quote \" backslash \\""#),
        (.string("\u{8}\u{C}\n\r\t"), #""\b\f\n\r\t""#),
        (.string("\u{0}\u{1}\u{1F}\u{7F}"), #""\u0000\u0001\u001f\#u{7F}""#),
        (.string("\u{1B}[0m"), #""\u001b[0m""#),
        (.string("héllo 😀 中文 \u{2028}"), "\"héllo 😀 中文 \u{2028}\""),
        ([], "[]"),
        ([:], "{}"),
    ]

    @Test(arguments: scalarOutputCases)
    func compactScalarOutput(_ value: JSONValue, _ expected: String) {
        #expect(value.serializedString(pretty: false) == expected)
        #expect(value.serializedString(pretty: true) == expected + "\n")
    }

    @Test func objectKeysAreSortedByUTF8Bytes() {
        let value: JSONValue = ["B": 1, "a": 2, "z": 3, "é": 4, "ÿ": 5, "😀": 6, "": 0, "ab": 7, "a\u{0}": 8, "\u{FFFF}": 9]
        #expect(value.serializedString(pretty: false)
            == "{\"\":0,\"B\":1,\"a\":2,\"a\\u0000\":8,\"ab\":7,\"z\":3,\"é\":4,\"ÿ\":5,\"\u{FFFF}\":9,\"😀\":6}")
        // Insertion order does not matter.
        var reordered: [String: JSONValue] = [:]
        for (key, member) in value.objectValue!.reversed() {
            reordered[key] = member
        }
        #expect(JSONValue.object(reordered).serialized() == value.serialized())
    }

    @Test func serializedOutputAlwaysParses() throws {
        for (value, _) in Self.scalarOutputCases {
            let parsed = try JSONValue.parse(value.serialized(pretty: false))
            if case .double(let d) = value, !d.isFinite {
                #expect(parsed == .null)
            } else {
                #expect(parsed == value)
            }
        }
    }

    // MARK: - Round trip

    @Test func randomValuesRoundTrip() throws {
        var generator = SplitMix64(seed: 0x6A7E_4005_E5EE_D001)
        var kinds: Set<String> = []
        for _ in 0..<400 {
            let value = Self.randomValue(using: &generator, depth: 0)
            kinds.insert(value.typeName)
            for pretty in [true, false] {
                let bytes = value.serialized(pretty: pretty)
                let parsed = try JSONValue.parse(bytes)
                #expect(parsed == value, "pretty: \(pretty), \(value.serializedString(pretty: false))")
                // Output is deterministic: writing the parsed value again gives the same bytes.
                #expect(parsed.serialized(pretty: pretty) == bytes)
                #expect(try JSONValue.parse(value.serializedString(pretty: pretty)) == value)
            }
        }
        #expect(kinds.count == 7)
    }

    @Test func unknownFieldsSurviveAnEdit() throws {
        let document = """
            {
              "version": 1,
              "profiles": {
                "a": {"key": "k1", "futureField": [1, {"x": null}], "expires": 1.5e12}
              },
              "extra": "keep"
            }
            """
        guard case .object(var root) = try JSONValue.parse(document),
              case .object(var profiles)? = root["profiles"],
              case .object(var profile)? = profiles["a"]
        else {
            Issue.record("unexpected shape")
            return
        }
        profile["key"] = "k2"
        profiles["a"] = .object(profile)
        root["profiles"] = .object(profiles)
        let rewritten = JSONValue.object(root)
        #expect(rewritten.serializedString(pretty: false)
            == #"{"extra":"keep","profiles":{"a":{"expires":1500000000000.0,"futureField":[1,{"x":null}],"key":"k2"}},"version":1}"#)
        let reparsed = try JSONValue.parse(rewritten.serialized())
        #expect(reparsed["extra"] == "keep")
        #expect(reparsed["version"] == 1)
        #expect(reparsed["profiles"]?["a"]?["futureField"] == [1, ["x": nil]])
        #expect(reparsed["profiles"]?["a"]?["key"] == "k2")
    }

    // MARK: - Accessors and literals

    @Test func accessors() {
        let value: JSONValue = ["s": "text", "i": 3, "d": 2.5, "b": true, "n": nil, "a": [1], "o": ["k": "v"]]
        #expect(value["s"]?.stringValue == "text")
        #expect(value["i"]?.intValue == 3)
        #expect(value["i"]?.doubleValue == 3.0)
        #expect(value["d"]?.doubleValue == 2.5)
        #expect(value["d"]?.intValue == nil)
        #expect(value["b"]?.boolValue == true)
        #expect(value["n"]?.isNull == true)
        #expect(value["a"]?.arrayValue == [.int(1)])
        #expect(value["o"]?.objectValue == ["k": .string("v")])
        #expect(value["missing"] == nil)
        #expect(JSONValue.string("x")["s"] == nil)
        #expect(JSONValue.array([1])["0"] == nil)

        #expect(JSONValue.double(1500).intValue == 1500)
        #expect(JSONValue.double(-0.0).intValue == 0)
        #expect(JSONValue.double(1.5).intValue == nil)
        #expect(JSONValue.double(1e19).intValue == nil)
        #expect(JSONValue.double(-9_223_372_036_854_775_808.0).intValue == Int64.min)
        #expect(JSONValue.double(9_223_372_036_854_775_808.0).intValue == nil)
        #expect(JSONValue.double(.nan).intValue == nil)
        #expect(JSONValue.double(.infinity).intValue == nil)
        #expect(JSONValue.string("1").intValue == nil)
        #expect(JSONValue.int(Int64.max).doubleValue == 9_223_372_036_854_775_807.0)
        #expect(JSONValue.bool(true).stringValue == nil)
        #expect(JSONValue.int(0).boolValue == nil)
        #expect(JSONValue.null.arrayValue == nil)
        #expect(JSONValue.null.objectValue == nil)
        #expect(JSONValue.int(0).isNull == false)
    }

    static let typeNames: [(JSONValue, String)] = [
        (nil, "null"), (true, "boolean"), (1, "integer"), (1.5, "number"),
        ("s", "string"), ([], "array"), ([:], "object"),
    ]

    @Test(arguments: typeNames)
    func typeName(_ value: JSONValue, _ name: String) {
        #expect(value.typeName == name)
    }

    @Test func literals() {
        let null: JSONValue = nil
        let bool: JSONValue = false
        let int: JSONValue = -5
        let double: JSONValue = 0.25
        let string: JSONValue = "s"
        let array: JSONValue = [1, "a", nil]
        let object: JSONValue = ["k": [true]]
        #expect(null == .null)
        #expect(bool == .bool(false))
        #expect(int == .int(-5))
        #expect(double == .double(0.25))
        #expect(string == .string("s"))
        #expect(array == .array([.int(1), .string("a"), .null]))
        #expect(object == .object(["k": .array([.bool(true)])]))
        #expect(JSONValue.int(1) != JSONValue.double(1))
    }

    @Test func syntaxErrorDescription() {
        let error = JSONSyntaxError(line: 3, column: 14, offset: 29, message: "unterminated string")
        #expect(error.description == "line 3, column 14: unterminated string")
        #expect("\(error)" == "line 3, column 14: unterminated string")
    }
}

// MARK: - Random values

// Nested in the suite so the names cannot collide with helpers in other test files.
extension JSONValueTests {

    /// SplitMix64 (Steele, Lea, Flood 2014): a tiny deterministic generator for reproducible tests.
    struct SplitMix64: RandomNumberGenerator {
        private var state: UInt64

        init(seed: UInt64) {
            state = seed
        }

        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
    }

    private static let stringPieces: [String] = [
        "a", "b", "Z", "0", " ", "key", "\"", "\\", "/", "\n", "\r", "\t", "\u{8}", "\u{C}", "\u{0}", "\u{1F}", "\u{7F}",
        "é", "ß", "€", "中", "😀", "𝄞", "\u{2028}", "\u{FEFF}", "\\u0041", "{}", "[,]", ":",
    ]

    private static func randomString(using generator: inout SplitMix64) -> String {
        var string = ""
        for _ in 0..<Int.random(in: 0...8, using: &generator) {
            string += stringPieces.randomElement(using: &generator)!
        }
        return string
    }

    private static func randomDouble(using generator: inout SplitMix64) -> Double {
        switch Int.random(in: 0..<4, using: &generator) {
        case 0:
            // Any finite bit pattern: subnormals, huge and tiny magnitudes.
            while true {
                let double = Double(bitPattern: generator.next())
                if double.isFinite { return double }
            }
        case 1:
            // Short decimals such as 12.34.
            return Double(Int.random(in: -100_000...100_000, using: &generator)) / 100 + 0.005
        case 2:
            // Large values (integral, so they round-trip as doubles written with an exponent).
            return Double.random(in: 1e17...1e300, using: &generator) * (Bool.random(using: &generator) ? 1 : -1)
        default:
            return Double.random(in: -1...1, using: &generator)
        }
    }

    private static func randomValue(using generator: inout SplitMix64, depth: Int) -> JSONValue {
        let kinds = depth >= 4 ? 5 : 7
        switch Int.random(in: 0..<kinds, using: &generator) {
        case 0:
            return .null
        case 1:
            return .bool(Bool.random(using: &generator))
        case 2:
            switch Int.random(in: 0..<3, using: &generator) {
            case 0: return .int(Int64.random(in: -1000...1000, using: &generator))
            case 1: return .int(Int64(bitPattern: generator.next()))
            default: return .int(Bool.random(using: &generator) ? .max : .min)
            }
        case 3:
            return .double(randomDouble(using: &generator))
        case 4:
            return .string(randomString(using: &generator))
        case 5:
            var elements: [JSONValue] = []
            for _ in 0..<Int.random(in: 0...5, using: &generator) {
                elements.append(randomValue(using: &generator, depth: depth + 1))
            }
            return .array(elements)
        default:
            var members: [String: JSONValue] = [:]
            for _ in 0..<Int.random(in: 0...5, using: &generator) {
                members[randomString(using: &generator)] = randomValue(using: &generator, depth: depth + 1)
            }
            return .object(members)
        }
    }
}
