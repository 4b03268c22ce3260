import GatehouseCore
import Synchronization

/// Something that changed in a profile's health. Prepared views and logs subscribe to these.
public enum HealthEvent: Sendable, Hashable {
    /// A failure was recorded (also one that fell inside an existing window).
    case failureRecorded(agent: String, profile: ProfileID, reason: FailureReason, model: String?)
    /// A cooldown or disable began (or a model's cooldown widened to the whole profile).
    case windowStarted(agent: String, profile: ProfileID, window: HealthWindow)
    /// A window ran out.
    case windowEnded(agent: String, profile: ProfileID, window: HealthWindow)
    /// A success cleared a profile's windows and counters.
    case profileRecovered(agent: String, profile: ProfileID)

    /// The profile the event is about.
    public var profile: ProfileID {
        switch self {
        case .failureRecorded(_, let p, _, _), .windowStarted(_, let p, _), .windowEnded(_, let p, _), .profileRecovered(_, let p): p
        }
    }
}

/// Hands every event to every current subscriber. Subscribers that fall behind lose the oldest
/// events beyond their buffer, never block the publisher.
public final class HealthEventBroadcaster: Sendable {
    private let subscribers = Mutex<[Int: AsyncStream<HealthEvent>.Continuation]>([:])
    private let nextID = Atomic<Int>(0)

    public init() {}

    /// A new stream of the events published from now on. It ends when the subscriber stops iterating.
    public func subscribe(bufferingNewest limit: Int = 1024) -> AsyncStream<HealthEvent> {
        let (stream, continuation) = AsyncStream.makeStream(of: HealthEvent.self, bufferingPolicy: .bufferingNewest(limit))
        let id = nextID.wrappingAdd(1, ordering: .relaxed).oldValue
        subscribers.withLock { $0[id] = continuation }
        continuation.onTermination = { [weak self] _ in
            _ = self?.subscribers.withLock { $0.removeValue(forKey: id) }
        }
        return stream
    }

    /// Sends an event to every subscriber.
    public func publish(_ event: HealthEvent) {
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
