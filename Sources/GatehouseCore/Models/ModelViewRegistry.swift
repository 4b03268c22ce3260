import Synchronization

/// Why a model view is (re)built. Every rebuild logs its reasons.
public enum ModelViewReason: String, Sendable, Hashable, CaseIterable {
    /// The gateway started.
    case startup
    /// `gatehouse.json` was reloaded.
    case config
    /// This process changed the agent's credentials through the store (an OAuth refresh, a login).
    case credentials
    /// The file watcher saw `auth-profiles.json` change and its content differ from what this process
    /// last read or wrote: a hand edit, or another process such as the CLI.
    case externalEdit = "external-edit"
    /// An auth failure was recorded against one of the agent's profiles.
    case authFailure = "auth-failure"
    /// A read found no view for its agent and built it at once.
    case firstRead = "first-read"
}

/// A view that could not be built (the agent's credential file does not parse): the reader gets the
/// message, which names the file.
public struct ModelViewError: Error, Sendable, Hashable, CustomStringConvertible {
    public var message: String
    public init(message: String) { self.message = message }
    public var description: String { message }
}

/// The prepared model views of every agent, keyed by agent id, with the bookkeeping of invalidation:
/// which agents wait for a rebuild and why, and the generation counter that keeps a slow rebuild from
/// publishing over a newer one.
///
/// A rebuild takes its generation (`beginBuild`) before it reads anything. Every invalidation raises
/// the counter, so a build that started before an event has a lower generation than any build that
/// sees the event, and `publish` accepts a view only when it is newer than the one in place.
public final class ModelViewRegistry: Sendable {
    public struct Entry: Sendable {
        public var generation: UInt64
        public var result: Result<PreparedModelView, ModelViewError>
    }

    /// A rebuild to run: the agent and every reason that asked for it since the last one.
    public struct PendingBuild: Sendable, Hashable {
        public var agent: String
        public var reasons: [ModelViewReason]

        public init(agent: String, reasons: [ModelViewReason]) {
            self.agent = agent
            self.reasons = reasons
        }
    }

    struct State {
        var entries: [String: Entry] = [:]
        var generation: UInt64 = 0
        /// Agents awaiting a rebuild, in the order they were first invalidated.
        var pending: [PendingBuild] = []
        /// Published builds, per reason (the first reason of each build).
        var published: [ModelViewReason: Int] = [:]
        var discarded = 0

        mutating func invalidate(_ agent: String, reason: ModelViewReason) {
            generation += 1
            if let index = pending.firstIndex(where: { $0.agent == agent }) {
                if !pending[index].reasons.contains(reason) { pending[index].reasons.append(reason) }
            } else {
                pending.append(PendingBuild(agent: agent, reasons: [reason]))
            }
        }

        mutating func publish(_ agent: String, generation: UInt64, result: Result<PreparedModelView, ModelViewError>, reason: ModelViewReason) -> Bool {
            if let existing = entries[agent], existing.generation >= generation {
                discarded += 1
                return false
            }
            entries[agent] = Entry(generation: generation, result: result)
            published[reason, default: 0] += 1
            return true
        }
    }

    private let state = Mutex(State())

    public init() {}

    /// Marks `agent`'s view out of date; the view in place keeps answering until the rebuild publishes.
    public func invalidate(_ agent: String, reason: ModelViewReason) {
        state.withLock { $0.invalidate(agent, reason: reason) }
    }

    /// Marks every agent in `agents` out of date.
    public func invalidate(_ agents: some Sequence<String>, reason: ModelViewReason) {
        state.withLock { state in
            for agent in agents { state.invalidate(agent, reason: reason) }
        }
    }

    /// Takes the rebuilds waiting to run (an agent invalidated many times is rebuilt once).
    public func takePending() -> [PendingBuild] {
        state.withLock { state in
            defer { state.pending.removeAll() }
            return state.pending
        }
    }

    /// The generation a build that starts now is for. Call it before reading the build's inputs.
    public func beginBuild() -> UInt64 {
        state.withLock { $0.generation }
    }

    /// Installs a built view (or the error that stopped it) unless a view of the same or a newer
    /// generation is already in place. Returns whether it was installed.
    @discardableResult
    public func publish(
        _ agent: String, generation: UInt64, result: Result<PreparedModelView, ModelViewError>, reason: ModelViewReason
    ) -> Bool {
        state.withLock { $0.publish(agent, generation: generation, result: result, reason: reason) }
    }

    /// The agent's view, or nil when it has none yet.
    public func entry(for agent: String) -> Entry? {
        state.withLock { $0.entries[agent] }
    }

    /// Drops the views of agents that are no longer configured.
    public func retain(only agents: Set<String>) {
        state.withLock { state in
            state.entries = state.entries.filter { agents.contains($0.key) }
            state.pending.removeAll { !agents.contains($0.agent) }
        }
    }

    /// Published builds per reason, and the builds that lost to a newer view.
    public var counts: (published: [ModelViewReason: Int], discarded: Int) {
        state.withLock { ($0.published, $0.discarded) }
    }
}
