import NIOCore
import NIOHTTP1

/// An upstream's answer: its head, and its body as it arrives.
public struct UpstreamResponse: Sendable {
    public var status: HTTPResponseStatus
    public var headers: HTTPHeaders
    public var body: UpstreamResponseBody
}

/// The body of an upstream answer, piece by piece as the upstream sends it. Read it from one task.
/// A body dropped before its end closes its connection (a pooled connection is only reused after a
/// complete answer).
public struct UpstreamResponseBody: AsyncSequence, Sendable {
    public typealias Element = ByteBuffer

    /// Cancels an unfinished exchange when the last copy of the body goes away.
    final class Reader: Sendable {
        let exchange: UpstreamExchange
        init(_ exchange: UpstreamExchange) { self.exchange = exchange }
        deinit { exchange.cancel() }
    }

    let reader: Reader

    public struct AsyncIterator: AsyncIteratorProtocol {
        let reader: Reader

        /// The next piece; nil at the end. Throws `UpstreamError` when the answer breaks off (read
        /// timeout, connection closed) and `CancellationError` when the request was cancelled.
        public mutating func next() async throws -> ByteBuffer? {
            try await reader.exchange.next()
        }
    }

    public func makeAsyncIterator() -> AsyncIterator { AsyncIterator(reader: reader) }

    /// The whole body if its end has already arrived, without waiting; nil when more is to come (then
    /// nothing was taken). An empty body gives an empty buffer.
    public func takeIfComplete() -> ByteBuffer? {
        reader.exchange.takeCompleteBody()
    }

    /// Whether the iterator's next `next()` answers without waiting (a piece, the end or a failure
    /// has arrived): a relay can hold its flush for what follows.
    public func nextIsAtHand() -> Bool {
        reader.exchange.nextIsAtHand()
    }

    /// Reads up to `limit` bytes; stops reading there (the connection is then closed, not reused).
    /// A body that breaks off gives what had come.
    public func collectPrefix(limit: Int) async -> ByteBuffer {
        if let all = takeIfComplete() {
            return all.readableBytes > limit ? all.getSlice(at: all.readerIndex, length: limit)! : all
        }
        var collected = ByteBuffer()
        do {
            for try await var piece in self {
                let room = limit - collected.readableBytes
                if piece.readableBytes >= room {
                    if room > 0, let slice = piece.readSlice(length: room) { collected.writeImmutableBuffer(slice) }
                    break
                }
                collected.writeBuffer(&piece)
            }
        } catch {
            // A cut body still tells what it had.
        }
        return collected
    }

    /// Gives up the rest of the body now (closing the connection if the answer is not complete).
    public func cancel() {
        reader.exchange.cancel()
    }
}
