import NIOCore

/// A pooled keep-alive HTTP/1.1 connection to one upstream endpoint: one request at a time.
final class UpstreamConnection: Sendable {
    let id: Int
    let endpoint: UpstreamURL.Endpoint
    let channel: any Channel
    private let handler: NIOLoopBound<UpstreamConnectionHandler>

    init(id: Int, endpoint: UpstreamURL.Endpoint, channel: any Channel, handler: UpstreamConnectionHandler) {
        self.id = id
        self.endpoint = endpoint
        self.channel = channel
        self.handler = NIOLoopBound(handler, eventLoop: channel.eventLoop)
    }

    var eventLoop: any EventLoop { channel.eventLoop }

    /// Sends the exchange's request (on the connection's event loop).
    func start(_ exchange: UpstreamExchange) {
        if channel.eventLoop.inEventLoop {
            handler.value.start(exchange)
        } else {
            channel.eventLoop.execute { self.handler.value.start(exchange) }
        }
    }

    /// The reader caught up: read again if reads were held back.
    func readOn() {
        if channel.eventLoop.inEventLoop {
            handler.value.readOn()
        } else {
            channel.eventLoop.execute { self.handler.value.readOn() }
        }
    }

    func close() {
        channel.close(promise: nil)
    }

    /// Closes the connection if it is still serving `exchange` (a cancel that comes late must not
    /// close the connection under the next request).
    func close(ifServing exchange: UpstreamExchange) {
        if channel.eventLoop.inEventLoop {
            handler.value.close(ifServing: exchange)
        } else {
            channel.eventLoop.execute { self.handler.value.close(ifServing: exchange) }
        }
    }
}
