import NIOCore
import NIOHTTP1

/// Sends the requests of an upstream connection as `UpstreamRequest` encoded them, in place of NIO's
/// `HTTPRequestEncoder`. It sits between the response decoder and the socket (or TLS): a request's
/// head goes to the decoder alone, which frames each answer by its request's method, and its bytes
/// are written from here, past the decoder, as they came. No request part goes through the
/// pipeline's handlers: none is wrapped, cast or copied on its way.
///
/// An outbound handler only because a pipeline takes no other kind: nothing is written through it.
final class UpstreamRequestWriter: ChannelOutboundHandler, RemovableChannelHandler {
    typealias OutboundIn = IOData
    typealias OutboundOut = IOData

    /// The connection's response decoder (the one its `ByteToMessageHandler` runs).
    private let decoder: HTTPResponseDecoder
    private var context: ChannelHandlerContext?

    init(decoder: HTTPResponseDecoder) {
        self.decoder = decoder
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
    }

    /// Sends `request`, flushed with its last piece; false, with nothing sent, once the handler has
    /// left the pipeline (the connection closed).
    func send(_ request: UpstreamRequest) -> Bool {
        guard let context else { return false }
        decoder.write(data: .head(request.head.head))
        let wire = request.wire
        for piece in wire.dropLast() { context.write(NIOAny(IOData.byteBuffer(piece)), promise: nil) }
        if let last = wire.last {
            context.writeAndFlush(NIOAny(IOData.byteBuffer(last)), promise: nil)
        } else {
            context.flush()
        }
        return true
    }
}
