import NIOCore
import Synchronization

/// Cancels the work of a request when its client closes the connection. One close callback is
/// registered per connection (not per request, so a long keep-alive connection does not pile them
/// up); it cancels whatever request of that connection is in flight.
final class ClientConnections: Sendable {
    private struct Entry {
        var cancel: (@Sendable () -> Void)?
    }

    private let table = Mutex<[ObjectIdentifier: Entry]>([:])

    /// Runs `work` in a task that is cancelled if the client's connection closes before it ends.
    func run<T: Sendable>(on channel: any Channel, _ work: @escaping @Sendable () async -> T) async -> T {
        let task = Task { await work() }
        let id = ObjectIdentifier(channel)
        let register = table.withLock { table -> Bool in
            let isNew = table[id] == nil
            table[id, default: Entry()].cancel = { task.cancel() }
            return isNew
        }
        if register {
            let hangUp: @Sendable () -> Void = { [weak self] in
                let cancel = self?.table.withLock { $0.removeValue(forKey: id)?.cancel } ?? nil
                cancel?()
            }
            channel.closeFuture.whenComplete { _ in hangUp() }
            // A client that closes its side sends a FIN the server sees as "input closed" (the
            // connection allows half-closure), not as a closed channel: watch for that too.
            channel.eventLoop.execute {
                try? channel.pipeline.syncOperations.addHandler(HangUpDetector(onHangUp: hangUp), position: .first)
            }
        }
        if !channel.isActive { task.cancel() }
        let value = await task.value
        table.withLock { table in
            if table[id] != nil { table[id]!.cancel = nil }
        }
        return value
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
