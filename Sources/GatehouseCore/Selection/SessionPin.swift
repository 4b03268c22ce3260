/// Who set a session's profile pin.
public enum PinSource: String, Sendable, Hashable, CaseIterable {
    /// Gatehouse chose it (for cache locality it keeps using the same profile). Never inherited by a
    /// new or reset session; replaced when its profile enters a window.
    case auto
    /// A person chose it. Survives resets and restarts; skipped, not dropped, while its profile is in
    /// a window.
    case user
}

/// A session's pinned profile.
public struct SessionPin: Sendable, Hashable {
    /// The pinned profile id as stored (it may name a profile that no longer exists).
    public var profile: String
    public var source: PinSource
    /// When it was set (milliseconds since the epoch).
    public var setAt: Int64?

    public init(profile: String, source: PinSource, setAt: Int64? = nil) {
        self.profile = profile
        self.source = source
        self.setAt = setAt
    }
}
