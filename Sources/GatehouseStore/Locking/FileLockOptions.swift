/// How long and how a lock is waited for.
public struct FileLockOptions: Sendable, Hashable {
    /// The total time to wait before failing with a message that names the holder.
    public var timeout: Duration
    /// The first pause between attempts; it doubles up to `maxBackoff`, with jitter.
    public var initialBackoff: Duration
    /// The longest pause between attempts.
    public var maxBackoff: Duration
    /// A sidecar that is not in Gatehouse's format is reclaimed once it is this old.
    public var foreignLockStaleAfter: Duration

    public init(
        timeout: Duration = .seconds(10), initialBackoff: Duration = .milliseconds(100),
        maxBackoff: Duration = .seconds(2), foreignLockStaleAfter: Duration = .seconds(30)
    ) {
        self.timeout = timeout
        self.initialBackoff = initialBackoff
        self.maxBackoff = maxBackoff
        self.foreignLockStaleAfter = foreignLockStaleAfter
    }

    /// The defaults for the store's files (10 s).
    public static let store = FileLockOptions()
    /// The defaults for OAuth refresh locks (60 s).
    public static let refresh = FileLockOptions(timeout: .seconds(60))
}
