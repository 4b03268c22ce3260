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

/// The health events of the gateway's agents.
public typealias HealthEventBroadcaster = EventBroadcaster<HealthEvent>
