import GatehouseCore
import Testing

/// The request path reads a body once, with `RequestBodyScan`, for its model and stream flag; it
/// must take exactly the bodies the full JSON parser takes.
@Suite("Request body scan")
struct RequestBodyScanTests {
    private func scan(_ text: String) -> Result<RequestBodyScan, RequestBodyScanError> {
        let bytes = Array(text.utf8)
        return bytes.withUnsafeBytes { raw in Result { () throws(RequestBodyScanError) in try RequestBodyScan.scan(raw) } }
    }

    @Test("The model, its byte range and the stream flag are found")
    func findsModel() throws {
        let body = #"{"messages":[{"role":"user","content":"hi"}],"model" : "openai/gpt-4o","stream":true,"n":1}"#
        let result = try scan(body).get()
        #expect(result.model == "openai/gpt-4o")
        #expect(result.stream)
        let bytes = Array(body.utf8)
        #expect(String(decoding: bytes[result.modelRange], as: UTF8.self) == #""openai/gpt-4o""#)
        #expect(try !scan(#"{"model":"a/b","stream":false}"#).get().stream)
    }

    @Test("A model with escapes is decoded as JSON decodes it")
    func escapedModel() throws {
        #expect(try scan(#"{"model":"openai\/gpt\u002d4o"}"#).get().model == "openai/gpt-4o")
        #expect(try scan(#"{"model":"a/caf\u00e9"}"#).get().model == "a/café")
        #expect(try scan(#"{"model":"a/café"}"#).get().model == "a/café")
    }

    @Test(
        "Numbers and literals are taken or refused as the full parser does",
        arguments: [
            "0", "-0", "12", "-12.5", "1e5", "1E+5", "2.5e-3", "0.0", "true", "false", "null",
            "01", "-", "1.", ".5", "1e", "1e+", "+1", "--1", "0x10", "tru", "nulll", "True", "1.2.3", "NaN", "-Infinity",
            "1e400", "-1e400", "1e-400", String(repeating: "9", count: 400), String(repeating: "9", count: 300),
        ])
    func valuesAgreeWithParser(_ value: String) {
        let body = #"{"model":"openai/gpt-4o","temperature":"# + value + "}"
        let parsed = (try? JSONValue.parse(Array(body.utf8))) != nil
        let scanned = (try? scan(body).get()) != nil
        #expect(scanned == parsed, "\(value): parser \(parsed), scan \(scanned)")
    }

    @Test("Strings are taken or refused as the full parser does, wherever their quotes, escapes and control characters fall")
    func stringsAgreeWithParser() throws {
        // Pieces of a string's text: plain and multi-byte characters, escapes, and what ends a
        // string or may not stand in one (a quote, control characters).
        let pieces = ["a", "é", "😀", #"\""#, #"\\"#, #"\n"#, #"\u00e9"#, "\"", "\u{01}", "\n", "\u{7F}", "bcdefgh", "ijklmnopqrstuvwxyz0123"]
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15
        func next(_ bound: Int) -> Int {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Int((state >> 33) % UInt64(bound))
        }
        for _ in 0..<2000 {
            let text = (0..<next(24)).map { _ in pieces[next(pieces.count)] }.joined()
            // The string starts at every offset from a word's start.
            let body = #"{"model":"a/b","# + String(repeating: " ", count: next(8)) + #""x":""# + text + #""}"#
            let parsed = (try? JSONValue.parse(Array(body.utf8))) != nil
            let scanned = try? scan(body).get()
            #expect((scanned != nil) == parsed, "\(body.debugDescription): parser \(parsed), scan \(scanned != nil)")
            if let scanned { #expect(scanned.model == "a/b") }
        }
    }

    @Test("Invalid UTF-8 in the model is refused")
    func invalidUTF8() {
        var bytes = Array(#"{"model":"a/b"#.utf8)
        bytes.append(0xFF)
        bytes.append(contentsOf: Array(#""}"#.utf8))
        let result = bytes.withUnsafeBytes { raw in Result { () throws(RequestBodyScanError) in try RequestBodyScan.scan(raw) } }
        guard case .failure(.malformed) = result else {
            Issue.record("expected a malformed body, got \(result)")
            return
        }
    }

    @Test("Bodies that are not what the route needs get their own errors")
    func refusals() {
        #expect(throws: RequestBodyScanError.notAnObject) { try scan("[1]").get() }
        #expect(throws: RequestBodyScanError.missingModel) { try scan(#"{"messages":[]}"#).get() }
        #expect(throws: RequestBodyScanError.modelNotAString) { try scan(#"{"model":42}"#).get() }
        guard case .failure(.malformed) = scan(#"{"model":"a/b",}"#) else {
            Issue.record("a trailing comma must be refused")
            return
        }
        guard case .failure(.malformed) = scan(#"{"model":"a/b"} x"#) else {
            Issue.record("trailing characters must be refused")
            return
        }
    }
}
