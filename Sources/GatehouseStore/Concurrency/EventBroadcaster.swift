import Synchronization

/// Hands every event to every current subscriber. Subscribers that fall behind lose the oldest
/// events beyond their buffer, never block the publisher.
public final class EventBroadcaster<Event: Sendable>: Sendable {
    private let subscribers = Mutex<[Int: AsyncStream<Event>.Continuation]>([:])
    private let nextID = Atomic<Int>(0)

    public init() {}

    /// A new stream of the events published from now on. It ends when the subscriber stops iterating.
    public func subscribe(bufferingNewest limit: Int = 1024) -> AsyncStream<Event> {
        let (stream, continuation) = AsyncStream.makeStream(of: Event.self, bufferingPolicy: .bufferingNewest(limit))
        let id = nextID.wrappingAdd(1, ordering: .relaxed).oldValue
        subscribers.withLock { $0[id] = continuation }
        continuation.onTermination = { [weak self] _ in
            _ = self?.subscribers.withLock { $0.removeValue(forKey: id) }
        }
        return stream
    }

    /// Sends an event to every subscriber.
    public func publish(_ event: Event) {
        let current = subscribers.withLock { Array($0.values) }
        for continuation in current { continuation.yield(event) }
    }

    /// Ends every subscriber's stream.
    public func finish() {
        let current = subscribers.withLock { table in
            defer { table.removeAll() }
            return Array(table.values)
        }
        for continuation in current { continuation.finish() }
    }
}
