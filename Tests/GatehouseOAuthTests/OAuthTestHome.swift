import Foundation
import GatehouseCore
import GatehouseHTTP
import GatehouseStore
import GatehouseTestSupport
import Synchronization

/// A home whose `acme` provider logs in against a running mock.
struct OAuthTestHome {
    let directory: TemporaryDirectory
    let mock: MockProvider
    let profile = try! ProfileID(parsing: "acme:me")

    var home: GatehouseHome { directory.home }
    var store: AgentStore { try! AgentStore(home: home, agentID: "main") }

    /// Writes the configuration and an OAuth profile with the given tokens.
    static func make(_ directory: TemporaryDirectory, mock: MockProvider, access: String, refresh: String, expires: Int64) async throws -> OAuthTestHome {
        let setup = OAuthTestHome(directory: directory, mock: mock)
        try setup.home.create()
        let config: JSONValue = ["providers": ["acme": mock.providerEntry()]]
        try AtomicFile.write(config.serialized(), to: setup.home.configurationPath)
        try await setup.setCredential(access: access, refresh: refresh, expires: expires)
        return setup
    }

    func setCredential(access: String, refresh: String, expires: Int64) async throws {
        try await store.profiles.update { document in
            document.profiles[profile] = AuthProfile(id: profile, credential: .oauth(OAuthCredential(access: access, refresh: refresh, expires: expires)))
        }
    }

    var credential: OAuthCredential {
        get throws {
            guard case .oauth(let credential) = try store.profiles.read().profiles[profile]?.credential else {
                throw MockProviderError(description: "no OAuth profile")
            }
            return credential
        }
    }

    /// A manager like the one a process would build.
    func manager(
        background: Bool = false, margin: Duration = .seconds(300), lock: FileLockOptions = .refresh,
        loginRequired: LoginRequiredLog = LoginRequiredLog()
    ) throws -> OAuthTokenManager {
        var configuration = OAuthTokenManager.Configuration()
        configuration.margin = margin
        configuration.refreshLock = lock
        let providers = try ConfigurationFile.load(home, environment: [:]).resolvedProviders
        return OAuthTokenManager(
            home: home, providers: providers, endpoint: HTTPTokenEndpoint(timeout: .seconds(10)), configuration: configuration,
            backgroundRefresh: background, onLoginRequired: { key, message in loginRequired.record(key.profile, message) })
    }
}

/// What `onLoginRequired` was told.
final class LoginRequiredLog: Sendable {
    private let entries = Mutex<[(ProfileID, String)]>([])
    func record(_ profile: ProfileID, _ message: String) { entries.withLock { $0.append((profile, message)) } }
    var all: [(ProfileID, String)] { entries.withLock { $0 } }
}

/// Milliseconds from now.
func fromNow(_ ms: Int64) -> Int64 { WallClock.nowMillis() + ms }
