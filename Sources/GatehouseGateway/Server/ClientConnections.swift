import GatehouseHTTP
import NIOCore
import Synchronization

/// Cancels the upstream request of a client that closes its connection. One close callback is
/// registered per connection (not per request, so a long keep-alive connection does not pile them
/// up); it cancels the request of that connection in flight. No task is started per request: the
/// request's `UpstreamCancellation` ends its upstream waits directly.
final class ClientConnections: Sendable {
    private let table = Mutex<[ObjectIdentifier: UpstreamCancellation]>([:])

    /// A cancellation for the request now served on `channel`, cancelled when the client hangs up.
    func cancellation(for channel: any Channel) -> UpstreamCancellation {
        let cancellation = UpstreamCancellation()
        let id = ObjectIdentifier(channel)
        let isNew = table.withLock { $0.updateValue(cancellation, forKey: id) == nil }
        if isNew {
            let hangUp: @Sendable () -> Void = { [weak self] in
                self?.table.withLock { $0.removeValue(forKey: id) }?.cancel()
            }
            channel.closeFuture.whenComplete { _ in hangUp() }
            // A client that closes its side sends a FIN the server sees as "input closed" (the
            // connection allows half-closure), not as a closed channel: watch for that too.
            if channel.eventLoop.inEventLoop {
                try? channel.pipeline.syncOperations.addHandler(HangUpDetector(onHangUp: hangUp), position: .first)
            } else {
                channel.eventLoop.execute {
                    try? channel.pipeline.syncOperations.addHandler(HangUpDetector(onHangUp: hangUp), position: .first)
                }
            }
        }
        if !channel.isActive { cancellation.cancel() }
        return cancellation
    }
}

/// Calls `onHangUp` when the client closes its side of the connection or the connection fails.
private final class HangUpDetector: ChannelInboundHandler, Sendable {
    typealias InboundIn = NIOAny
    let onHangUp: @Sendable () -> Void

    init(onHangUp: @escaping @Sendable () -> Void) {
        self.onHangUp = onHangUp
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let event = event as? ChannelEvent, event == .inputClosed { onHangUp() }
        context.fireUserInboundEventTriggered(event)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        onHangUp()
        context.fireErrorCaught(error)
    }
}
