import NIOCore
import NIOHTTP1

/// Encodes the requests of an upstream connection: the head and a small body go out as one buffer,
/// written at the request's end (one write, one `writev` entry), a large body piece by piece after
/// the head, unchanged.
///
/// In place of NIO's `HTTPRequestEncoder` for `UpstreamRequest`s: every request carries its framing
/// (`Content-Length` for any body, set by `UpstreamRequest`), so nothing is added, no chunked
/// encoding is needed, and a request ends with no trailers.
final class UpstreamRequestEncoder: ChannelOutboundHandler, RemovableChannelHandler {
    typealias OutboundIn = HTTPClientRequestPart
    typealias OutboundOut = IOData

    /// Body pieces up to this size are copied behind the head; larger ones are written as they are.
    static let copiedPieceLimit = 16 * 1024

    /// The request written so far and not yet passed on, and the promise of its parts.
    private var pending: ByteBuffer?
    private var pendingPromise: EventLoopPromise<Void>?

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        switch unwrapOutboundIn(data) {
        case .head(let head):
            writePending(context: context)
            var buffer = context.channel.allocator.buffer(capacity: 1024)
            HTTP1Writer.writeHead(head, to: &buffer)
            pending = buffer
            keep(promise)
        case .body(.byteBuffer(let piece)) where pending != nil && piece.readableBytes <= Self.copiedPieceLimit:
            pending!.writeImmutableBuffer(piece)
            keep(promise)
        case .body(let piece):
            writePending(context: context)
            context.write(wrapOutboundOut(piece), promise: promise)
        case .end(let trailers):
            assert(trailers == nil, "an upstream request ends with no trailers")
            keep(promise)
            if pending == nil, let done = pendingPromise {
                // Nothing left to write: the promise completes with what was written before.
                pendingPromise = nil
                context.write(wrapOutboundOut(.byteBuffer(ByteBuffer())), promise: done)
            }
            writePending(context: context)
        }
    }

    private func keep(_ promise: EventLoopPromise<Void>?) {
        guard let promise else { return }
        if let pendingPromise { pendingPromise.futureResult.cascade(to: promise) } else { pendingPromise = promise }
    }

    private func writePending(context: ChannelHandlerContext) {
        guard let buffer = pending else { return }
        pending = nil
        let promise = pendingPromise
        pendingPromise = nil
        context.write(wrapOutboundOut(.byteBuffer(buffer)), promise: promise)
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        pendingPromise?.fail(ChannelError.ioOnClosedChannel)
    }
}
