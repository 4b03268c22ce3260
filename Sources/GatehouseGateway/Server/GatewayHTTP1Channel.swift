import HummingbirdCore
import Logging
import NIOCore
import NIOHTTP1
import NIOHTTPTypes
import NIOHTTPTypesHTTP1

/// The gateway's HTTP/1.1 connections: Hummingbird's own (`HTTP1Channel`), with the gateway's
/// `ModelRouteHandler` right after the HTTP/1.1 codec. The model routes are served there, in NIO's
/// HTTP types; every other request goes on, converted to HTTP types, to Hummingbird's router.
struct GatewayHTTP1Channel: HTTPChannelHandler {
    typealias Value = NIOAsyncChannel<HTTPRequestPart, HTTPResponsePart>

    let responder: HTTPChannelHandler.Responder
    let engine: ProxyEngine

    /// The server of `Application(router:server:...)`.
    static func server(engine: ProxyEngine) -> HTTPServerBuilder {
        HTTPServerBuilder { responder in GatewayHTTP1Channel(responder: responder, engine: engine) }
    }

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        channel.eventLoop.makeCompletedFuture {
            // As HTTP1Channel, with its decoder limits: no pipelining assistance (answers are kept in
            // order by the handlers), parse errors answered by the router's side, no outbound header
            // validation (the router's answers are validated as HTTP types; a model answer's header
            // values are the upstream's, parsed by the client's decoder, and the gateway's own). The
            // decoder does not pass each request's method to the encoder, as NIO's own pipeline
            // does: model answers are written past the encoder, which would keep their methods
            // forever. `ModelRouteHandler` holds back the body of a router answer to a HEAD request
            // (the router serves no CONNECT, and a refusal of one may carry a body). The bytes it
            // writes past the encoder keep their order only while no handler between the two holds
            // writes back: the request decoder alone sits there.
            var limits = NIOHTTPDecoderLimitConfiguration()
            limits.maxHeaderFieldSize = 80 * 1024
            limits.maxHeaderListSize = 80 * 1024
            limits.maxHeaderFieldCount = 1000
            let pipeline = channel.pipeline.syncOperations
            try pipeline.addHandler(HTTPResponseEncoder(configuration: .init()))
            try pipeline.addHandler(ByteToMessageHandler(HTTPRequestDecoder(leftOverBytesStrategy: .dropBytes, limitConfiguration: limits)))
            try pipeline.addHandler(ModelRouteHandler(engine: engine))
            try pipeline.addHandler(HTTP1ToHTTPServerCodec(secure: false))
            try pipeline.addHandler(HTTPConnectionStateHandler(logger: logger))
            return try NIOAsyncChannel(wrappingChannelSynchronously: channel, configuration: .init(isOutboundHalfClosureEnabled: true))
        }
    }

    func handle(value asyncChannel: Value, logger: Logger) async {
        await handleHTTP(asyncChannel: asyncChannel, logger: logger)
    }
}
