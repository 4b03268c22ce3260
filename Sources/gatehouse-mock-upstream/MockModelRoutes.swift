import GatehouseCore
import GatehouseStore
import HTTPTypes
import Hummingbird
import Synchronization

/// The model endpoints: `POST /v1/chat/completions` (OpenAI wire) and `POST /v1/messages`
/// (Anthropic wire), plain and streamed, with the faults tests set per credential.
///
/// Built to never be the bottleneck of a benchmark: answers are prepared bytes with the id, time and
/// model filled in, a request takes the state lock once, and nothing is logged.
struct MockModelRoutes: Sendable {
    let state: MockState
    let replies: CannedReplies

    /// Request bodies up to this size are read (benchmarks send big prompts).
    static let maximumBodySize = 64 << 20
    static let apiKeyField = HTTPField.Name("x-api-key")!
    static let jsonHeaders: HTTPFields = [.contentType: "application/json"]
    static let streamHeaders: HTTPFields = [.contentType: "text/event-stream", .cacheControl: "no-cache"]

    func add(to router: Router<BasicRequestContext>) {
        router.post("/v1/chat/completions") { request, _ in try await self.answer(request, wire: .openAIChat) }
        router.post("/v1/messages") { request, _ in try await self.answer(request, wire: .anthropicMessages) }
    }

    private func answer(_ request: Request, wire: ModelWire) async throws -> Response {
        let body = try await request.body.collect(upTo: Self.maximumBodySize)
        let document = try? JSONValue.parse(body.readableBytesView)
        let model = document?["model"]?.stringValue
        let stream = document?["stream"]?.boolValue ?? false
        let key = Self.credential(in: request.headers)
        let record = ModelRequestRecord(
            method: request.method.rawValue, path: request.uri.path, model: model, stream: stream, key: key,
            headers: request.headers, body: body)
        let counters = wire.counters
        let (serial, behaviour, keyless) = state.state.withLock { state -> (Int, KeyBehaviour?, Bool) in
            state.replySerial += 1
            state.lastModelRequest = record
            state.counters[counters.requests, default: 0] += 1
            if stream { state.counters[counters.stream, default: 0] += 1 }
            guard let key else { return (state.replySerial, nil, state.settings.keyless) }
            state.counters[counters.requestsPerKeyPrefix + key, default: 0] += 1
            let behaviour = state.keyBehaviours.take(for: key)
            if behaviour?.errorStatus != nil {
                state.counters[counters.faults, default: 0] += 1
            } else if behaviour?.cutAfterEvents != nil {
                state.counters[counters.cut, default: 0] += 1
            }
            return (state.replySerial, behaviour, state.settings.keyless)
        }

        if let delay = behaviour?.delayMilliseconds, delay > 0 { try await Task.sleep(for: .milliseconds(delay)) }
        guard key != nil || keyless else { return Self.error(401, wire.missingKeyBody()) }
        if let behaviour, let status = behaviour.errorStatus {
            let body = behaviour.body.map { Array($0.utf8) } ?? wire.errorBody(status: status, key: key, model: model)
            return Self.error(status, body, retryAfter: behaviour.retryAfter)
        }
        guard document?.objectValue != nil else {
            return Self.error(
                400, wire.errorBody(status: 400, key: key, model: nil, detail: "We could not parse the JSON body of your request."))
        }
        guard let model else {
            let detail = wire == .openAIChat ? "you must provide a model parameter" : "model: Field required"
            return Self.error(400, wire.errorBody(status: 400, key: key, model: nil, detail: detail))
        }

        let values = ResponseTemplate.Values(
            id: wire == .openAIChat ? "chatcmpl-mock\(serial)" : "msg_mock\(serial)", created: WallClock.nowMillis() / 1000,
            model: JSONStringEscaping.escaped(model))
        if stream {
            let events: [ResponseTemplate]
            switch wire {
            case .openAIChat:
                let usage = document?["stream_options"]?["include_usage"]?.boolValue ?? false
                events = usage ? replies.chatStreamWithUsage : replies.chatStream
            case .anthropicMessages:
                events = replies.messageStream
            }
            return Self.stream(events, values, behaviour: behaviour)
        }
        let template = wire == .openAIChat ? replies.chatCompletion : replies.message
        let bytes = template.render(values)
        guard behaviour?.cutAfterEvents != nil else {
            return Response(status: .ok, headers: Self.jsonHeaders, body: .init(byteBuffer: bytes))
        }
        // A plain answer "cut": half the body, chunked, then the connection drops.
        return Response(
            status: .ok, headers: Self.jsonHeaders,
            body: ResponseBody { writer in
                try await writer.write(bytes.getSlice(at: bytes.readerIndex, length: bytes.readableBytes / 2)!)
                throw MockConnectionCut()
            })
    }

    /// A streamed answer: chunked (no `Content-Length`), every event or all at once. With
    /// `cutAfterEvents` it sends that many events, never the last one, and then drops the connection,
    /// so the client sees an error rather than a clean end; with `endAfterEvents` it sends that many,
    /// never the last one, and ends the answer cleanly.
    private static func stream(_ events: [ResponseTemplate], _ values: ResponseTemplate.Values, behaviour: KeyBehaviour?) -> Response {
        let cut = behaviour?.cutAfterEvents != nil
        let sent = (behaviour?.cutAfterEvents ?? behaviour?.endAfterEvents).map { min($0, events.count - 1) } ?? events.count
        let eventDelay = behaviour?.eventDelayMilliseconds ?? 0
        return Response(
            status: .ok, headers: streamHeaders,
            body: ResponseBody { writer in
                if eventDelay > 0 {
                    for event in events[..<sent] {
                        try await Task.sleep(for: .milliseconds(eventDelay))
                        try await writer.write(event.render(values))
                    }
                } else if sent > 0 {
                    var buffer = ByteBuffer()
                    buffer.reserveCapacity(events[..<sent].reduce(0) { $0 + $1.capacity(for: values) })
                    for event in events[..<sent] { event.write(values, into: &buffer) }
                    try await writer.write(buffer)
                }
                if cut { throw MockConnectionCut() }
                try await writer.finish(nil)
            })
    }

    private static func error(_ status: Int, _ body: [UInt8], retryAfter: String? = nil) -> Response {
        var headers = jsonHeaders
        if let first = body.first(where: { $0 != UInt8(ascii: " ") && $0 != UInt8(ascii: "\n") }),
            first != UInt8(ascii: "{") && first != UInt8(ascii: "[")
        {
            headers[.contentType] = "text/plain; charset=utf-8"
        }
        if let retryAfter { headers[.retryAfter] = retryAfter }
        return Response(status: HTTPResponse.Status(code: status), headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: body)))
    }

    /// The credential of a request: `Authorization: Bearer K`, else `x-api-key: K`.
    static func credential(in headers: HTTPFields) -> String? {
        if let authorization = headers[.authorization], authorization.hasPrefix("Bearer ") || authorization.hasPrefix("bearer ") {
            let key = authorization.dropFirst("Bearer ".count).drop(while: { $0 == " " })
            if !key.isEmpty { return String(key) }
        }
        if let key = headers[Self.apiKeyField], !key.isEmpty { return key }
        return nil
    }
}

/// Thrown from a response body to drop the connection mid-answer (`cutAfterEvents`).
struct MockConnectionCut: Error {}
