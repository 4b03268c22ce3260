import NIOCore
import NIOHTTP1

/// Sends the requests of an upstream connection as `UpstreamRequest` encoded them, in place of NIO's
/// `HTTPRequestEncoder`: each request comes as its head, then its bytes (head and body) as body
/// parts, then its end. The head is not written: it goes by only for the response decoder, which
/// frames each answer by its request's method. The bytes go out as they came.
final class UpstreamRequestWriter: ChannelOutboundHandler, RemovableChannelHandler {
    typealias OutboundIn = HTTPClientRequestPart
    typealias OutboundOut = IOData

    /// The promise of a head, completed with the request's first write.
    private var headPromise: EventLoopPromise<Void>?

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        switch unwrapOutboundIn(data) {
        case .head:
            if let promise { keep(promise) }
        case .body(let bytes):
            context.write(wrapOutboundOut(bytes), promise: takePromise(with: promise))
        case .end(let trailers):
            assert(trailers == nil, "an upstream request ends with no trailers")
            // Nothing to write: a promise completes once what was written before it is.
            if let promise = takePromise(with: promise) { context.write(wrapOutboundOut(.byteBuffer(ByteBuffer())), promise: promise) }
        }
    }

    private func keep(_ promise: EventLoopPromise<Void>) {
        if let headPromise { headPromise.futureResult.cascade(to: promise) } else { headPromise = promise }
    }

    /// `promise` joined with a head's that waits.
    private func takePromise(with promise: EventLoopPromise<Void>?) -> EventLoopPromise<Void>? {
        guard let waiting = headPromise else { return promise }
        headPromise = nil
        if let promise { promise.futureResult.cascade(to: waiting) }
        return promise ?? waiting
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        headPromise?.fail(ChannelError.ioOnClosedChannel)
    }
}
