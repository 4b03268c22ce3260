import GatehouseCore
import GatehouseStore
import NIOCore
import NIOHTTP1

/// A request to a model route (`POST /v1/chat/completions`, `POST /v1/messages`), read whole by the
/// connection's `ModelRouteHandler`.
struct ModelRequest: Sendable {
    var api: WireAPI
    var headers: HTTPHeaders
    var body: ByteBuffer
    /// The loop of the client's connection: the upstream request runs on it too.
    var eventLoop: any EventLoop
}

/// What the client of a model route gets: a head, and a body that is complete or streams from the
/// upstream as it arrives.
struct ProxyAnswer: Sendable {
    enum Body: Sendable {
        case complete(ByteBuffer)
        /// Writes the body piece by piece, then finishes the writer. The answer's head is written but
        /// not flushed: it goes out with the first piece, or the producer flushes before it waits for
        /// that piece. Returns what went wrong when the answer did not end as the upstream's did (for
        /// the request's log line). A throw, or a return without finishing, ends the answer short
        /// (the connection is closed, so the client cannot take a cut answer for a whole one).
        case stream(@Sendable (ClientAnswerWriter) async throws -> String?)
    }

    var status: HTTPResponseStatus
    var headers: HTTPHeaders
    var body: Body
    /// The success a complete answer records once it is written (the client does not wait for the
    /// bookkeeping); a stream records its own when it ends.
    var success: Success?

    /// A profile's success, for `HealthRecorder.markGood`.
    struct Success: Sendable {
        let recorder: HealthRecorder
        let profile: ProfileID
        let model: String

        func record() { recorder.markGood(profile, model: model) }
    }

    /// An answer whose body is all here.
    static func complete(status: HTTPResponseStatus, headers: HTTPHeaders, body: ByteBuffer) -> ProxyAnswer {
        ProxyAnswer(status: status, headers: headers, body: .complete(body))
    }
}
