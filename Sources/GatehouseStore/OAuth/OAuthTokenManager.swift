import GatehouseCore
import Logging
import Synchronization

/// Gives out usable OAuth access tokens and refreshes each login exactly once, however many tasks
/// and processes need it at the same moment (DESIGN section 7).
///
/// - A token valid for longer than the margin is returned at once.
/// - A token inside the margin but still valid is returned at once; a background refresh is queued
///   (run by `OAuthRefreshService`), or, without a background runner, the refresh happens inline.
/// - An expired token makes the caller wait for the refresh.
///
/// Within the process one refresh per profile runs at a time and every waiter gets its result.
/// Across processes the refresh holds `locks/oauth-refresh/sha256-<hex>.lock`, re-reads the store,
/// and adopts a fresher token another process stored instead of calling the token endpoint. While it
/// waits for that lock it keeps reading the store, so a token another process just stored is used
/// at once. The refreshed credential is written under the store lock before the locks are released.
public final class OAuthTokenManager: Sendable {
    public struct Configuration: Sendable {
        /// Refresh this long before expiry.
        public var margin: Duration = .seconds(300)
        /// The token endpoint call's own timeout, shorter than the lock's deadline.
        public var refreshTimeout: Duration = .seconds(30)
        public var refreshLock: FileLockOptions = .refresh
        /// How often the store is read while waiting for another process's refresh.
        public var adoptPollInterval: Duration = .milliseconds(50)
        public init() {}
    }

    /// The profile a token belongs to.
    public struct Key: Hashable, Sendable {
        public var agent: String
        public var profile: ProfileID
        public init(agent: String, profile: ProfileID) {
            self.agent = agent
            self.profile = profile
        }
    }

    public let home: GatehouseHome
    public let configuration: Configuration
    let endpoint: any TokenEndpoint
    let logger: Logger
    private let providers: Mutex<[String: ProviderDefinition]>
    private let flights = Mutex<[Key: [CheckedContinuation<OAuthCredential?, any Error>]]>([:])
    private let background: AsyncStream<Key>.Continuation?
    let backgroundRequests: AsyncStream<Key>?
    private let onLoginRequired: @Sendable (Key, String) async -> Void
    private let now: @Sendable () -> Int64
    /// Each agent's credentials, re-read only when the file changes.
    private let documents = Mutex<[String: CachedDocument<AuthProfilesDocument>]>([:])

    /// - Parameters:
    ///   - backgroundRefresh: queue refreshes of tokens inside the margin for `OAuthRefreshService`
    ///     (the gateway); without it (a one-shot command) they are refreshed inline.
    ///   - onLoginRequired: called when the provider rejects a refresh token, to disable the profile.
    public init(
        home: GatehouseHome, providers: [String: ProviderDefinition], endpoint: any TokenEndpoint,
        configuration: Configuration = Configuration(), backgroundRefresh: Bool,
        logger: Logger = Logger(label: "gatehouse.oauth"),
        onLoginRequired: @escaping @Sendable (Key, String) async -> Void,
        now: @escaping @Sendable () -> Int64 = WallClock.nowMillis
    ) {
        self.home = home
        self.configuration = configuration
        self.endpoint = endpoint
        self.logger = logger
        self.providers = Mutex(providers)
        self.onLoginRequired = onLoginRequired
        self.now = now
        if backgroundRefresh {
            let (stream, continuation) = AsyncStream.makeStream(of: Key.self, bufferingPolicy: .bufferingNewest(256))
            self.backgroundRequests = stream
            self.background = continuation
        } else {
            self.backgroundRequests = nil
            self.background = nil
        }
    }

    /// Replaces the provider definitions (after a configuration reload).
    public func update(providers: [String: ProviderDefinition]) {
        self.providers.withLock { $0 = providers }
    }

    /// The refresh lock file of a profile: `locks/oauth-refresh/sha256-<hex(provider NUL profileId)>.lock`.
    public func refreshLockPath(for profile: ProfileID) -> String {
        let hex = Fingerprint.sha256Hex(bytes: Array(profile.provider.utf8) + [0] + Array(profile.description.utf8))
        return "\(home.locksPath)/oauth-refresh/sha256-\(hex).lock"
    }

    // MARK: Getting a token

    /// A usable access token for a profile.
    /// - Throws: `OAuthError` (no such OAuth profile, login required, refresh failed with an expired
    ///   token, lock held elsewhere with no fresher token), `StoreError` for a broken file.
    public func accessToken(agent: String, profile: ProfileID) async throws -> String {
        let key = Key(agent: agent, profile: profile)
        let credential = try read(key)
        let t = now()
        if let token = tokenAtHand(credential, key: key, at: t) { return token }
        if isValid(credential, at: t) {
            do {
                return try await refreshed(key, observed: credential, rejected: nil).access!
            } catch let error as OAuthError where error.code != .loginRequired {
                // A transient failure: the old token still works for now.
                logger.warning(
                    "refresh failed; the current token is still valid", metadata: ["auth.profile": "\(profile)", "error": "\(error)"])
                return credential.access!
            }
        }
        return try await refreshed(key, observed: credential, rejected: nil).access!
    }

    /// The access token of `credential` (the login as the caller read it from the agent's credential
    /// file) when there is one to use without waiting: one not due for refresh, or one still valid
    /// while a background refresh is queued for it (as `accessToken` does). Nil when the caller must
    /// wait for a refresh: `accessToken` reads the file again, does that and says why.
    public func accessTokenAtHand(_ credential: OAuthCredential, agent: String, profile: ProfileID) -> String? {
        tokenAtHand(credential, key: Key(agent: agent, profile: profile), at: now())
    }

    /// `credential`'s access token when it needs no refresh first, or when it is still valid and a
    /// background refresh is queued for it; nil when the caller must wait for a refresh.
    private func tokenAtHand(_ credential: OAuthCredential, key: Key, at t: Int64) -> String? {
        if isUsable(credential, at: t) { return credential.access! }
        if isValid(credential, at: t), let background {
            background.yield(key)
            return credential.access!
        }
        return nil
    }

    /// A token after the upstream rejected `rejectedAccessToken` (a 401): if the store already holds
    /// another valid token it is adopted, else one refresh is forced.
    public func accessTokenAfterRejection(agent: String, profile: ProfileID, rejectedAccessToken: String) async throws -> String {
        let key = Key(agent: agent, profile: profile)
        return try await refreshed(key, observed: try read(key), rejected: rejectedAccessToken).access!
    }

    /// Runs the queued background refreshes until cancelled (see `OAuthRefreshService`).
    func runBackgroundRefreshes() async {
        guard let backgroundRequests else { return }
        for await key in backgroundRequests {
            do {
                let credential = try read(key)
                guard !isUsable(credential, at: now()) else { continue }
                _ = try await refreshed(key, observed: credential, rejected: nil)
            } catch {
                logger.warning(
                    "background refresh failed", metadata: ["auth.profile": "\(key.profile)", "agent": "\(key.agent)", "error": "\(error)"])
            }
        }
    }

    /// Ends the background queue.
    func finishBackground() { background?.finish() }

    // MARK: Single flight

    /// - Parameter observed: the credential the caller found not good enough; only a different one
    ///   counts as fresher (reading it again here could already see another process's new token, and
    ///   then refresh a token that was just refreshed).
    private func refreshed(_ key: Key, observed: OAuthCredential, rejected: String?) async throws -> OAuthCredential {
        // Either lead the refresh of this profile, or wait for the one that is running.
        let joined = try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<OAuthCredential?, any Error>) in
            let lead = flights.withLock { table -> Bool in
                if table[key] != nil {
                    table[key]!.append(continuation)
                    return false
                }
                table[key] = []
                return true
            }
            if lead { continuation.resume(returning: nil) }
        }
        if let joined { return joined }
        let result: Result<OAuthCredential, any Error>
        do {
            result = .success(try await performRefresh(key, entered: observed, rejected: rejected))
        } catch {
            result = .failure(error)
        }
        let waiters = flights.withLock { $0.removeValue(forKey: key) ?? [] }
        for waiter in waiters {
            switch result {
            case .success(let credential): waiter.resume(returning: credential)
            case .failure(let error): waiter.resume(throwing: error)
            }
        }
        return try result.get()
    }

    // MARK: The refresh itself

    /// Decides, once, whether the lock holder refreshes or the waiter adopts another process's token.
    private final class LockGate: Sendable {
        enum State { case waiting, acquired, abandoned }
        private let state = Mutex(State.waiting)

        /// Moves from waiting to `next`; false when the other side got there first.
        func claim(_ next: State) -> Bool {
            state.withLock { state in
                guard state == .waiting else { return false }
                state = next
                return true
            }
        }

        var isWaiting: Bool { state.withLock { $0 == .waiting } }
    }

    private func performRefresh(_ key: Key, entered: OAuthCredential, rejected: String?) async throws -> OAuthCredential {
        // Someone may have refreshed since the caller looked.
        if let current = try? read(key), isFresher(current, than: entered, rejected: rejected, requireUsable: rejected == nil, at: now()) {
            return current
        }
        let gate = LockGate()
        let lockPath = refreshLockPath(for: key.profile)
        do {
            return try await withThrowingTaskGroup(of: OAuthCredential?.self) { group in
                group.addTask {
                    try await FileLock.withLock(sidecar: lockPath, options: self.configuration.refreshLock, logger: self.logger) {
                        guard gate.claim(.acquired) else { return nil }
                        return try await self.refreshUnderLock(key, entered: entered, rejected: rejected)
                    }
                }
                group.addTask {
                    // While waiting for another process's refresh, adopt what it stores.
                    while true {
                        try await Task.sleep(for: self.configuration.adoptPollInterval)
                        if !gate.isWaiting { return nil }
                        guard let current = try? self.read(key),
                            self.isFresher(current, than: entered, rejected: rejected, requireUsable: true, at: self.now())
                        else { continue }
                        if gate.claim(.abandoned) {
                            self.logger.debug("adopted a token another process stored", metadata: ["auth.profile": "\(key.profile)"])
                            return current
                        }
                        return nil
                    }
                }
                var found: OAuthCredential?
                while let next = try await group.next() {
                    if let next {
                        found = next
                        break
                    }
                }
                group.cancelAll()
                return found!
            }
        } catch let error as StoreError where error.code == .lockTimeout {
            // The lock stayed with someone else: a usable token they stored still serves.
            if let current = try? read(key), isFresher(current, than: entered, rejected: rejected, requireUsable: false, at: now()) {
                return current
            }
            throw OAuthError(
                code: .lockTimeout, profile: key.profile.description,
                message:
                    "Could not refresh \(key.profile): another process held the refresh lock the whole time and stored no new token. \(error.message)"
            )
        }
    }

    /// Holds the store lock: re-reads, adopts a fresher token or calls the token endpoint, and writes
    /// the result before anything is released.
    private func refreshUnderLock(_ key: Key, entered: OAuthCredential, rejected: String?) async throws -> OAuthCredential {
        let store = try AgentStore(home: home, agentID: key.agent)
        let definition = providers.withLock { $0[key.profile.provider]?.oauth }
        return try await store.profiles.withLockedDocument(logger: logger) { document -> (AuthProfilesDocument?, OAuthCredential) in
            guard var profile = document.profiles[key.profile] else {
                throw OAuthError(
                    code: .notFound, profile: key.profile.description, message: "no profile \(key.profile) for agent '\(key.agent)'")
            }
            guard case .oauth(var credential) = profile.credential else {
                throw OAuthError(code: .notOAuth, profile: key.profile.description, message: "\(key.profile) is not an OAuth login")
            }
            if isFresher(credential, than: entered, rejected: rejected, requireUsable: true, at: now()) {
                return (nil, credential)
            }
            guard let refreshToken = credential.refresh, !refreshToken.isEmpty else {
                throw OAuthError(
                    code: .noRefreshToken, profile: key.profile.description,
                    message: "\(key.profile) has expired and has no refresh token; run `gatehouse auth login \(key.profile.provider)`")
            }
            guard let definition, !definition.tokenURL.isEmpty, !(credential.clientId ?? definition.clientID).isEmpty else {
                throw OAuthError(
                    code: .noOAuthSettings, profile: key.profile.description,
                    message:
                        "provider \(key.profile.provider) has no OAuth token endpoint; set providers.\(key.profile.provider).oauth in gatehouse.json"
                )
            }
            let grant = RefreshGrant(
                tokenURL: definition.tokenURL, clientID: credential.clientId ?? definition.clientID, encoding: definition.encoding,
                refreshToken: refreshToken, scopes: definition.scopes)
            let started = now()
            let result: TokenEndpointResult
            do {
                result = try await withTimeout(configuration.refreshTimeout) { try await self.endpoint.refresh(grant) }
            } catch {
                throw OAuthError(
                    code: .refreshFailed, profile: key.profile.description,
                    message: "refreshing \(key.profile) failed: \(error); the token endpoint \(definition.tokenURL) did not answer")
            }
            switch result {
            case .tokens(let tokens):
                credential.access = tokens.accessToken
                if let newRefresh = tokens.refreshToken { credential.refresh = newRefresh }
                credential.expires = tokens.expires ?? JWTClaims(token: tokens.accessToken)?.expires
                if let email = tokens.email { credential.email = email }
                if let account = tokens.accountID { credential.accountId = account }
                profile.credential = .oauth(credential)
                var changed = document
                changed.profiles[key.profile] = profile
                logger.info(
                    "refreshed an OAuth token",
                    metadata: [
                        "agent": "\(key.agent)", "auth.profile": "\(key.profile)",
                        "auth.fingerprint": "\(Fingerprint.of(tokens.accessToken))",
                        "duration.ms": "\(now() - started)",
                    ])
                return (changed, credential)
            case .failure(let failure) where failure.isPermanent:
                let message =
                    "the provider rejected the refresh token of \(key.profile) (\(failure.code ?? "HTTP \(failure.status)"): \(failure.description)); run `gatehouse auth login \(key.profile.provider)`"
                await onLoginRequired(key, message)
                throw OAuthError(code: .loginRequired, profile: key.profile.description, message: message)
            case .failure(let failure):
                throw OAuthError(
                    code: .refreshFailed, profile: key.profile.description,
                    message:
                        "refreshing \(key.profile) failed (HTTP \(failure.status)\(failure.code.map { ", \($0)" } ?? "")): \(failure.description)"
                )
            }
        }
    }

    // MARK: Reading

    /// The profile's OAuth credential as stored (read without a lock).
    func read(_ key: Key) throws -> OAuthCredential {
        let cached = try documents.withLock { table -> CachedDocument<AuthProfilesDocument> in
            if let existing = table[key.agent] { return existing }
            let created = CachedDocument(file: try AgentStore(home: home, agentID: key.agent).profiles)
            table[key.agent] = created
            return created
        }
        guard let profile = try cached.current().get().profiles[key.profile] else {
            throw OAuthError(
                code: .notFound, profile: key.profile.description,
                message: "no profile \(key.profile) for agent '\(key.agent)'; see `gatehouse auth list`")
        }
        guard case .oauth(let credential) = profile.credential else {
            throw OAuthError(
                code: .notOAuth, profile: key.profile.description,
                message: "\(key.profile) is a \(profile.type.rawValue) profile, not an OAuth login")
        }
        return credential
    }

    /// Valid for longer than the margin (a token without a known expiry counts as usable).
    func isUsable(_ credential: OAuthCredential, at t: Int64) -> Bool {
        guard let access = credential.access, !access.isEmpty else { return false }
        guard let expires = credential.expires else { return true }
        return expires - configuration.margin.milliseconds > t
    }

    /// Not expired yet.
    func isValid(_ credential: OAuthCredential, at t: Int64) -> Bool {
        guard let access = credential.access, !access.isEmpty else { return false }
        guard let expires = credential.expires else { return true }
        return expires > t
    }

    /// Whether `current` is a different token than the one the caller had (and than the rejected
    /// one), and good enough to use.
    private func isFresher(_ current: OAuthCredential, than entered: OAuthCredential, rejected: String?, requireUsable: Bool, at t: Int64)
        -> Bool
    {
        if let rejected {
            guard current.access != rejected else { return false }
        } else {
            guard current.access != entered.access || (current.expires ?? .min) > (entered.expires ?? .min) else { return false }
        }
        return requireUsable ? isUsable(current, at: t) : isValid(current, at: t)
    }
}
