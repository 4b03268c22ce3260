import GatehouseCore
import GatehouseTestSupport
import Testing

/// The model side of `gatehouse-mock-upstream` over real loopback HTTP: both wire formats, plain and
/// streamed, their error shapes, and the faults tests set per credential.
@Suite("Mock provider: model routes", .serialized)
struct MockChatTests {
    private static let chatRequest: JSONValue = [
        "model": "acme-large", "messages": [["role": "user", "content": "Say hello"]],
    ]
    private static let messagesRequest: JSONValue = [
        "model": "claude-test", "max_tokens": 64, "messages": [["role": "user", "content": "Say hello"]],
    ]

    private func chat(
        _ mock: MockProvider, key: String? = "sk-test-key-1", stream: Bool = false, model: String = "acme-large",
        extra: [(String, String)] = []
    )
        async throws -> MockHTTPResponse
    {
        var body = Self.chatRequest.objectValue!
        body["model"] = .string(model)
        if stream { body["stream"] = true }
        let headers = (key.map { [("authorization", "Bearer \($0)")] } ?? []) + extra
        return try await mock.send(path: "/v1/chat/completions", headers: headers, json: .object(body))
    }

    private func messages(_ mock: MockProvider, key: String? = "sk-ant-test-key-1", stream: Bool = false, extra: [(String, String)] = [])
        async throws -> MockHTTPResponse
    {
        var body = Self.messagesRequest.objectValue!
        if stream { body["stream"] = true }
        let headers = (key.map { [("x-api-key", $0)] } ?? []) + [("anthropic-version", "2023-06-01")] + extra
        return try await mock.send(path: "/v1/messages", headers: headers, json: .object(body))
    }

    private func classify(_ response: MockHTTPResponse) -> FailureReason {
        FailureClassifier.classify(.http(status: response.status, headers: response.headers, body: response.text), now: 0).reason
    }

    // MARK: OpenAI wire

    @Test("chat completion: a realistic chat.completion that echoes the model, with a Content-Length")
    func chatPlain() async throws {
        try await MockProvider.with { mock in
            let response = try await chat(mock, model: #"odd "model"\name"#)
            #expect(response.status == 200)
            #expect(response.header("content-type") == "application/json")
            #expect(response.header("content-length") == String(response.body.count))
            let json = try #require(response.json)
            #expect(json["object"]?.stringValue == "chat.completion")
            #expect(json["id"]?.stringValue?.hasPrefix("chatcmpl-") == true)
            #expect((json["created"]?.intValue ?? 0) > 1_700_000_000)
            #expect(json["model"]?.stringValue == #"odd "model"\name"#)
            let choice = try #require(json["choices"]?.arrayValue?.first)
            #expect(choice["index"]?.intValue == 0)
            #expect(choice["message"]?["role"]?.stringValue == "assistant")
            #expect(choice["message"]?["content"]?.stringValue == "Hello from the mock.")
            #expect(choice["finish_reason"]?.stringValue == "stop")
            #expect(json["usage"]?["total_tokens"]?.intValue == 17)
            #expect(response.bodyError == nil)
        }
    }

    @Test("chat stream: a role chunk, 5 content chunks, a finish chunk, [DONE]; chunked, no Content-Length")
    func chatStream() async throws {
        try await MockProvider.with { mock in
            let response = try await chat(mock, stream: true)
            #expect(response.status == 200)
            #expect(response.header("content-type") == "text/event-stream")
            #expect(response.header("content-length") == nil)
            #expect(response.header("transfer-encoding") == "chunked")
            #expect(response.bodyError == nil)
            let events = response.events
            #expect(events.count == 8)
            #expect(events.allSatisfy { $0.event == nil })
            #expect(events.last?.data == "[DONE]")
            let chunks = try events.dropLast().map { try JSONValue.parse($0.data) }
            #expect(chunks.allSatisfy { $0["object"]?.stringValue == "chat.completion.chunk" && $0["model"]?.stringValue == "acme-large" })
            #expect(Set(chunks.compactMap { $0["id"]?.stringValue }).count == 1)
            let deltas = chunks.map { $0["choices"]?.arrayValue?.first?["delta"] }
            #expect(deltas.first??["role"]?.stringValue == "assistant")
            #expect(deltas.dropFirst().compactMap { $0?["content"]?.stringValue }.joined() == "Hello from the mock.")
            #expect(chunks.last?["choices"]?.arrayValue?.first?["finish_reason"]?.stringValue == "stop")
            #expect(chunks.dropLast().allSatisfy { $0["choices"]?.arrayValue?.first?["finish_reason"]?.isNull == true })
        }
    }

    @Test("chat stream with stream_options.include_usage: a usage chunk before [DONE]; --stream-chunks sets the piece count")
    func chatStreamUsage() async throws {
        try await MockProvider.with(["--stream-chunks", "12"]) { mock in
            let body: JSONValue = ["model": "m", "stream": true, "stream_options": ["include_usage": true], "messages": []]
            let response = try await mock.send(path: "/v1/chat/completions", headers: [("authorization", "Bearer k")], json: body)
            let events = response.events
            #expect(events.count == 12 + 4)
            #expect(events.last?.data == "[DONE]")
            let usage = try JSONValue.parse(events[events.count - 2].data)
            #expect(usage["choices"]?.arrayValue?.isEmpty == true)
            #expect(usage["usage"]?["completion_tokens"]?.intValue == 12)
        }
    }

    // MARK: Anthropic wire

    @Test("messages: a realistic message that echoes the model")
    func messagesPlain() async throws {
        try await MockProvider.with { mock in
            let response = try await messages(mock)
            #expect(response.status == 200)
            #expect(response.header("content-type") == "application/json")
            let json = try #require(response.json)
            #expect(json["type"]?.stringValue == "message")
            #expect(json["id"]?.stringValue?.hasPrefix("msg_") == true)
            #expect(json["role"]?.stringValue == "assistant")
            #expect(json["model"]?.stringValue == "claude-test")
            #expect(json["content"]?.arrayValue?.first?["type"]?.stringValue == "text")
            #expect(json["content"]?.arrayValue?.first?["text"]?.stringValue == "Hello from the mock.")
            #expect(json["stop_reason"]?.stringValue == "end_turn")
            #expect(json["usage"]?["input_tokens"]?.intValue == 12)
            #expect(json["usage"]?["output_tokens"]?.intValue == 5)
        }
    }

    @Test("messages stream: message_start, content_block_start, 5 deltas, content_block_stop, message_delta, message_stop")
    func messagesStream() async throws {
        try await MockProvider.with { mock in
            let response = try await messages(mock, stream: true)
            #expect(response.status == 200)
            #expect(response.header("content-type") == "text/event-stream")
            #expect(response.header("content-length") == nil)
            #expect(response.bodyError == nil)
            let events = response.events
            let names = events.map { $0.event ?? "-" }
            #expect(
                names == ["message_start", "content_block_start"] + Array(repeating: "content_block_delta", count: 5)
                    + ["content_block_stop", "message_delta", "message_stop"])
            let data = try events.map { try JSONValue.parse($0.data) }
            #expect(zip(names, data).allSatisfy { $0 == $1["type"]?.stringValue })
            #expect(data[0]["message"]?["model"]?.stringValue == "claude-test")
            #expect(data[0]["message"]?["id"]?.stringValue?.hasPrefix("msg_") == true)
            let text = data.filter { $0["type"]?.stringValue == "content_block_delta" }.compactMap { $0["delta"]?["text"]?.stringValue }
            #expect(text.joined() == "Hello from the mock.")
            #expect(data.allSatisfy { $0["delta"]?["type"].map { $0.stringValue == "text_delta" } ?? true })
            #expect(data[data.count - 2]["delta"]?["stop_reason"]?.stringValue == "end_turn")
        }
    }

    // MARK: Errors

    @Test("no credential: 401 in each wire's error shape; bad JSON and a missing model: 400")
    func requestErrors() async throws {
        try await MockProvider.with { mock in
            let openAI = try await chat(mock, key: nil)
            #expect(openAI.status == 401)
            let openAIError = try #require(openAI.json?["error"])
            #expect(openAIError["type"]?.stringValue == "invalid_request_error")
            #expect(openAIError["message"]?.stringValue?.contains("API key") == true)
            #expect(openAIError.objectValue?.keys.contains("code") == true)

            let anthropic = try await messages(mock, key: nil)
            #expect(anthropic.status == 401)
            #expect(anthropic.json?["type"]?.stringValue == "error")
            #expect(anthropic.json?["error"]?["type"]?.stringValue == "authentication_error")
            #expect(anthropic.json?["error"]?["message"]?.stringValue?.isEmpty == false)

            let badJSON = try await mock.send(
                path: "/v1/chat/completions", headers: [("authorization", "Bearer k")], body: Array("{nope".utf8))
            #expect(badJSON.status == 400)
            #expect(badJSON.json?["error"]?["type"]?.stringValue == "invalid_request_error")
            let noModel = try await mock.send(path: "/v1/messages", headers: [("x-api-key", "k")], json: ["messages": []])
            #expect(noModel.status == 400)
            #expect(noModel.json?["error"]?["type"]?.stringValue == "invalid_request_error")
        }
    }

    @Test("injected statuses use the providers' wording, which the failure classifier reads as intended")
    func injectedStatuses() async throws {
        try await MockProvider.with { mock in
            let cases: [(Int, FailureReason, openAIType: String, anthropicType: String)] = [
                (401, .authPermanent, "invalid_request_error", "authentication_error"),
                (402, .billing, "insufficient_quota", "billing_error"),
                (400, .format, "invalid_request_error", "invalid_request_error"),
                (429, .rateLimit, "requests", "rate_limit_error"),
                (503, .overloaded, "server_error", "overloaded_error"),
                (529, .overloaded, "server_error", "overloaded_error"),
            ]
            for (status, reason, openAIType, anthropicType) in cases {
                try await mock.setKeyBehaviour("openai-\(status)", ["status": .int(Int64(status))])
                try await mock.setKeyBehaviour("anthropic-\(status)", ["status": .int(Int64(status))])
                let openAI = try await chat(mock, key: "openai-\(status)")
                #expect(openAI.status == status)
                #expect(openAI.json?["error"]?["type"]?.stringValue == openAIType, "\(status)")
                #expect(openAI.json?["error"]?["message"]?.stringValue != nil)
                #expect(classify(openAI) == reason, "OpenAI \(status): \(openAI.text)")
                let anthropic = try await messages(mock, key: "anthropic-\(status)", stream: true)
                #expect(anthropic.status == status)
                #expect(anthropic.header("content-type") == "application/json")
                #expect(anthropic.json?["type"]?.stringValue == "error")
                #expect(anthropic.json?["error"]?["type"]?.stringValue == anthropicType, "\(status)")
                #expect(classify(anthropic) == reason, "Anthropic \(status): \(anthropic.text)")
            }
            #expect(try await mock.counters()["chat.faults"] == cases.count)
        }
    }

    @Test("429 with Retry-After for times: 1, then the key answers normally; other keys are not affected")
    func rateLimitOnce() async throws {
        try await MockProvider.with { mock in
            try await mock.setKeyBehaviour("limited", ["status": 429, "retryAfter": "2", "times": 1])
            try await mock.setKeyBehaviour("limited-ant", ["status": 429, "retryAfter": 7, "times": 1])
            #expect(try await chat(mock, key: "other").status == 200)
            let first = try await chat(mock, key: "limited")
            #expect(first.status == 429)
            #expect(first.header("retry-after") == "2")
            #expect(first.json?["error"]?["code"]?.stringValue == "rate_limit_exceeded")
            #expect(try await chat(mock, key: "limited").status == 200)
            #expect(try await chat(mock, key: "limited", stream: true).status == 200)

            let anthropic = try await messages(mock, key: "limited-ant")
            #expect(anthropic.status == 429)
            #expect(anthropic.header("retry-after") == "7")
            #expect(try await messages(mock, key: "limited-ant").status == 200)
        }
    }

    @Test("reject: always 401 with invalid-key wording until DELETE /admin/keys; a raw body replaces the wire's")
    func rejectAndRawBody() async throws {
        try await MockProvider.with { mock in
            try await mock.setKeyBehaviour("sk-revoked-abcdef", ["reject": true])
            for _ in 0..<3 {
                let response = try await chat(mock, key: "sk-revoked-abcdef")
                #expect(response.status == 401)
                #expect(response.json?["error"]?["code"]?.stringValue == "invalid_api_key")
                #expect(response.text.contains("Incorrect API key provided: sk-*****cdef"))
            }
            try await mock.setKeyBehaviour("raw", ["status": 500, "body": "upstream exploded"])
            let raw = try await messages(mock, key: "raw")
            #expect(raw.status == 500)
            #expect(raw.text == "upstream exploded")
            #expect(raw.header("content-type")?.hasPrefix("text/plain") == true)

            #expect(try await mock.send(method: "DELETE", path: "/admin/keys").status == 200)
            #expect(try await chat(mock, key: "sk-revoked-abcdef").status == 200)
            #expect(try await messages(mock, key: "raw").status == 200)

            let unknown = try await mock.send(path: "/admin/keys", json: ["key": "k", "statsu": 429])
            #expect(unknown.status == 400)
            #expect(unknown.text.contains("statsu"))
        }
    }

    @Test("cutAfterEvents: the client gets that many events, then an error instead of [DONE] or message_stop")
    func cutStreams() async throws {
        try await MockProvider.with { mock in
            try await mock.setKeyBehaviour("cut", ["cutAfterEvents": 2, "times": 3])
            let openAI = try await chat(mock, key: "cut", stream: true)
            #expect(openAI.status == 200)
            #expect(openAI.header("content-length") == nil)
            #expect(openAI.bodyError != nil)
            #expect(openAI.events.count == 2)
            #expect(!openAI.text.contains("[DONE]"))

            let anthropic = try await messages(mock, key: "cut", stream: true)
            #expect(anthropic.status == 200)
            #expect(anthropic.bodyError != nil)
            #expect(anthropic.events.map(\.event) == ["message_start", "content_block_start"])
            #expect(!anthropic.text.contains("message_stop"))

            let plain = try await chat(mock, key: "cut")
            #expect(plain.status == 200)
            #expect(plain.bodyError != nil)
            #expect(plain.json == nil)

            // times: 3 used up: the stream is whole again.
            let whole = try await chat(mock, key: "cut", stream: true)
            #expect(whole.bodyError == nil)
            #expect(whole.events.last?.data == "[DONE]")
            #expect(try await mock.counters()["chat.cut"] == 2)
        }
    }

    @Test("endAfterEvents: the client gets that many events and a clean end, without [DONE] or message_stop")
    func streamsEndingEarly() async throws {
        try await MockProvider.with { mock in
            try await mock.setKeyBehaviour("early", ["endAfterEvents": 2, "times": 2])
            let openAI = try await chat(mock, key: "early", stream: true)
            #expect(openAI.status == 200)
            #expect(openAI.bodyError == nil)
            #expect(openAI.events.count == 2)
            #expect(!openAI.text.contains("[DONE]"))

            let anthropic = try await messages(mock, key: "early", stream: true)
            #expect(anthropic.bodyError == nil)
            #expect(anthropic.events.map(\.event) == ["message_start", "content_block_start"])

            let whole = try await chat(mock, key: "early", stream: true)
            #expect(whole.events.last?.data == "[DONE]")
        }
    }

    @Test("delayMs holds the response head; eventDelayMs spaces the events")
    func delays() async throws {
        try await MockProvider.with { mock in
            try await mock.setKeyBehaviour("slow", ["delayMs": 300, "times": 1])
            let clock = ContinuousClock()
            let start = clock.now
            #expect(try await chat(mock, key: "slow").status == 200)
            #expect(clock.now - start >= .milliseconds(300))
            let fast = clock.now
            #expect(try await chat(mock, key: "slow").status == 200)
            #expect(clock.now - fast < .milliseconds(300))

            try await mock.setKeyBehaviour("drip", ["eventDelayMs": 20])
            let dripStart = clock.now
            let drip = try await messages(mock, key: "drip", stream: true)
            #expect(drip.events.count == 10)
            #expect(clock.now - dripStart >= .milliseconds(200))
        }
    }

    // MARK: Counters and the last request

    @Test("counters per route, per key and for streams; /admin/last-request shows what was forwarded; reset clears all")
    func countersAndLastRequest() async throws {
        try await MockProvider.with { mock in
            let missing = try await mock.send(method: "GET", path: "/admin/last-request")
            #expect(missing.status == 404)

            _ = try await chat(mock, key: "key-a")
            _ = try await chat(mock, key: "key-a", stream: true)
            _ = try await chat(mock, key: nil)
            _ = try await messages(mock, key: "key-b", stream: true)
            _ = try await messages(mock, key: "key-b", extra: [("x-custom-header", "yes")])
            let counters = try await mock.counters()
            #expect(counters["chat.requests"] == 3)
            #expect(counters["chat.requests.key-a"] == 2)
            #expect(counters["chat.stream"] == 1)
            #expect(counters["messages.requests"] == 2)
            #expect(counters["messages.requests.key-b"] == 2)
            #expect(counters["messages.stream"] == 1)

            let last = try await mock.getJSON("/admin/last-request")
            #expect(last["method"]?.stringValue == "POST")
            #expect(last["path"]?.stringValue == "/v1/messages")
            #expect(last["model"]?.stringValue == "claude-test")
            #expect(last["stream"]?.boolValue == false)
            #expect(last["key"]?.stringValue == "key-b")
            let names = last["headers"]?.arrayValue?.compactMap(\.stringValue) ?? []
            #expect(names.contains("anthropic-version"))
            #expect(names.contains("x-api-key"))
            #expect(names.contains("x-custom-header"))
            #expect(!names.contains("authorization"))
            #expect(names.allSatisfy { $0 == $0.lowercased() })
            #expect(last["headerValues"]?["anthropic-version"]?.stringValue == "2023-06-01")
            #expect(try JSONValue.parse(last["body"]?.stringValue ?? "")["max_tokens"]?.intValue == 64)

            _ = try await chat(mock, key: "key-c", extra: [("x-api-key", "ignored")])
            let bearer = try await mock.getJSON("/admin/last-request")
            #expect(bearer["key"]?.stringValue == "key-c", "Authorization: Bearer comes first")

            try await mock.setKeyBehaviour("key-a", ["reject": true])
            try await mock.post("/admin/reset")
            #expect(try await mock.counters().isEmpty)
            #expect(try await chat(mock, key: "key-a").status == 200)
        }
    }
}
