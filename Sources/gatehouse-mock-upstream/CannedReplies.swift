/// The model answers of both wire formats, prepared once at start.
///
/// Every answer says ``text``. A streamed answer carries it in `streamChunks` pieces (`"Hello"`,
/// `" from"`, `" the"`, `" mock"`, `"."`, repeated when more are asked for).
struct CannedReplies: Sendable {
    /// What the model says in a plain answer.
    static let text = "Hello from the mock."
    static let pieces = ["Hello", " from", " the", " mock", "."]
    static let promptTokens = 12

    /// OpenAI `chat.completion`.
    let chatCompletion: ResponseTemplate
    /// OpenAI stream: a chunk with the role, one per piece, one with `finish_reason`, `[DONE]`.
    let chatStream: [ResponseTemplate]
    /// The same with a usage chunk before `[DONE]` (`stream_options.include_usage`).
    let chatStreamWithUsage: [ResponseTemplate]
    /// Anthropic `message`.
    let message: ResponseTemplate
    /// Anthropic stream: `message_start`, `content_block_start`, one `content_block_delta` per piece,
    /// `content_block_stop`, `message_delta`, `message_stop`.
    let messageStream: [ResponseTemplate]

    /// - Parameter streamChunks: how many content pieces a streamed answer has (at least 1).
    init(streamChunks: Int) {
        let count = max(1, streamChunks)
        let pieces = (0..<count).map { JSONStringEscaping.quoted(Self.pieces[$0 % Self.pieces.count]) }
        let text = JSONStringEscaping.quoted(Self.text)
        let prompt = Self.promptTokens
        let plainTokens = Self.pieces.count

        chatCompletion = ResponseTemplate(
            #"{"id":"{{id}}","object":"chat.completion","created":{{created}},"model":"{{model}}","#
                + #""choices":[{"index":0,"message":{"role":"assistant","content":\#(text),"refusal":null,"annotations":[]},"#
                + #""logprobs":null,"finish_reason":"stop"}],"#
                + #""usage":{"prompt_tokens":\#(prompt),"completion_tokens":\#(plainTokens),"total_tokens":\#(prompt + plainTokens),"#
                + #""prompt_tokens_details":{"cached_tokens":0},"completion_tokens_details":{"reasoning_tokens":0}},"#
                + #""service_tier":"default","system_fingerprint":"fp_mock"}"#)

        let chunkHead =
            #"data: {"id":"{{id}}","object":"chat.completion.chunk","created":{{created}},"model":"{{model}}","system_fingerprint":"fp_mock","#
        var chat = [
            ResponseTemplate(
                chunkHead
                    + #""choices":[{"index":0,"delta":{"role":"assistant","content":"","refusal":null},"logprobs":null,"finish_reason":null}]}"#
                    + "\n\n")
        ]
        for piece in pieces {
            chat.append(
                ResponseTemplate(
                    chunkHead + #""choices":[{"index":0,"delta":{"content":\#(piece)},"logprobs":null,"finish_reason":null}]}"# + "\n\n"))
        }
        chat.append(ResponseTemplate(chunkHead + #""choices":[{"index":0,"delta":{},"logprobs":null,"finish_reason":"stop"}]}"# + "\n\n"))
        let done = ResponseTemplate("data: [DONE]\n\n")
        let usage = ResponseTemplate(
            chunkHead
                + #""choices":[],"usage":{"prompt_tokens":\#(prompt),"completion_tokens":\#(count),"total_tokens":\#(prompt + count)}}"#
                + "\n\n")
        chatStream = chat + [done]
        chatStreamWithUsage = chat + [usage, done]

        message = ResponseTemplate(
            #"{"id":"{{id}}","type":"message","role":"assistant","model":"{{model}}","#
                + #""content":[{"type":"text","text":\#(text)}],"stop_reason":"end_turn","stop_sequence":null,"#
                + #""usage":{"input_tokens":\#(prompt),"cache_creation_input_tokens":0,"cache_read_input_tokens":0,"output_tokens":\#(plainTokens)}}"#
        )

        func event(_ name: String, _ data: String) -> ResponseTemplate {
            ResponseTemplate("event: \(name)\ndata: \(data)\n\n")
        }
        var events = [
            event(
                "message_start",
                #"{"type":"message_start","message":{"id":"{{id}}","type":"message","role":"assistant","model":"{{model}}","#
                    + #""content":[],"stop_reason":null,"stop_sequence":null,"#
                    + #""usage":{"input_tokens":\#(prompt),"cache_creation_input_tokens":0,"cache_read_input_tokens":0,"output_tokens":1}}}"#
            ),
            event("content_block_start", #"{"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}"#),
        ]
        for piece in pieces {
            events.append(
                event("content_block_delta", #"{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":\#(piece)}}"#))
        }
        events.append(event("content_block_stop", #"{"type":"content_block_stop","index":0}"#))
        events.append(
            event(
                "message_delta",
                #"{"type":"message_delta","delta":{"stop_reason":"end_turn","stop_sequence":null},"usage":{"output_tokens":\#(count)}}"#))
        events.append(event("message_stop", #"{"type":"message_stop"}"#))
        messageStream = events
    }
}
