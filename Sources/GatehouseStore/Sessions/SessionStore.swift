import GatehouseCore
import Logging

/// The sessions of one agent and the rules for their pins (DESIGN section 6): user pins survive
/// resets and restarts; automatic pins are never inherited by a new or reset session and are replaced
/// when their profile enters a window; pins to profiles that are gone are dropped.
public struct SessionStore: Sendable {
    public let file: DocumentFile<SessionsDocument>
    public let logger: Logger?

    public init(home: GatehouseHome, agentID: String, lockOptions: FileLockOptions = .store, logger: Logger? = nil) {
        self.file = DocumentFile(path: home.sessionsPath(agentID), lockOptions: lockOptions)
        self.logger = logger
    }

    /// A session key: 1 to 256 printable characters without control characters.
    public static func problem(withKey key: String) -> String? {
        if key.isEmpty { return "a session key must not be empty" }
        if key.unicodeScalars.count > 256 { return "a session key is at most 256 characters" }
        if key.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7f }) {
            return "a session key must not hold control characters"
        }
        return nil
    }

    /// The session's entry, or nil when the session is new.
    public func entry(_ key: String) throws(StoreError) -> SessionEntry? {
        try file.read().sessions[key]
    }

    /// Pins a profile for a session on a person's behalf.
    public func pin(_ key: String, profile: ProfileID, now: Int64) async throws {
        try await file.update(logger: logger) { document in
            var entry = document.sessions[key] ?? SessionEntry()
            entry.setPin(SessionPin(profile: profile.description, source: .user, setAt: now))
            entry.updatedAt = now
            document.sessions[key] = entry
        }
    }

    /// Removes a session's pin, whoever set it. Returns the pin that was removed.
    @discardableResult
    public func unpin(_ key: String, now: Int64) async throws -> SessionPin? {
        try await file.update(logger: logger) { document -> SessionPin? in
            guard var entry = document.sessions[key], let pin = entry.pin else { return nil }
            entry.setPin(nil)
            entry.updatedAt = now
            document.sessions[key] = entry
            return pin
        }
    }

    /// Resets a session: an automatic pin is dropped, a user's pin stays. Returns the pin kept.
    @discardableResult
    public func reset(_ key: String, now: Int64) async throws -> SessionPin? {
        try await file.update(logger: logger) { document -> SessionPin? in
            var entry = document.sessions[key] ?? SessionEntry()
            if entry.pin?.source != .user { entry.setPin(nil) }
            entry.updatedAt = now
            document.sessions[key] = entry
            return entry.pin
        }
    }

    /// Carries out what the planner decided about a session's pin. Writes only when the pin changes.
    public func apply(_ action: CandidatePlan.PinAction, session key: String, now: Int64) async throws {
        let newPin: SessionPin?
        var dropping: String?
        switch action {
        case .none, .keep, .skipUserPin, .replaceAuto:
            return
        case .setAuto(let id), .replaceAutoWith(let id):
            newPin = SessionPin(profile: id.description, source: .auto, setAt: now)
        case .drop(let profile, _, let replacement):
            dropping = profile
            newPin = replacement.map { SessionPin(profile: $0.description, source: .auto, setAt: now) }
        }
        try await file.update(logger: logger) { document in
            var entry = document.sessions[key] ?? SessionEntry()
            if let dropping {
                // Only the pin that was judged gone is dropped; one set in the meantime stays.
                guard entry.pin == nil || entry.pin?.profile == dropping else { return }
            } else if entry.pin?.source == .user {
                // An automatic choice never overwrites a pin a person set.
                return
            }
            if entry.pin?.profile == newPin?.profile && entry.pin?.source == newPin?.source { return }
            entry.setPin(newPin)
            entry.updatedAt = now
            document.sessions[key] = entry
        }
    }
}
