import ArgumentParser
import GatehouseCore
import GatehouseStore

/// `gatehouse auth token`.
struct AuthToken: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "token",
        abstract: "Print a usable token of a profile, and nothing else: the way for scripts to get one.",
        discussion: """
            For an OAuth login the access token is refreshed first when it expires within the refresh \
            margin, under the lock contract, exactly once across every process that asks at the same \
            time. For an API key or static token it prints the resolved secret. Scripts should use this \
            instead of reading or writing auth-profiles.json themselves (see docs/lock-contract.md). \
            Example: curl -H "Authorization: Bearer $(gatehouse auth token anthropic:me)" ...
            """
    )

    @OptionGroup var global: GlobalOptions

    @Argument(help: "The profile id.")
    var id: String

    func run() async throws {
        let context = try CommandContext(global)
        let profileID: ProfileID
        do { profileID = try ProfileID(parsing: id) } catch { throw CLIError(error.description) }
        let store = try context.agentStore()
        let profile = try store.profiles.read().profiles[profileID] ?? context.environmentProfiles().first { $0.id == profileID }
        guard let profile else {
            throw CLIError("no profile \(id) for agent '\(context.agentID)'; see `gatehouse auth list`")
        }
        let token: String
        var expires: Int64?
        switch profile.credential {
        case .oauth:
            let manager = context.tokenManager()
            do {
                token = try await manager.accessToken(agent: context.agentID, profile: profileID)
            } catch let error as OAuthError {
                throw CLIError(error.message)
            }
            if case .oauth(let fresh) = try store.profiles.read().profiles[profileID]?.credential { expires = fresh.expires }
        case .apiKey, .token:
            switch profile.secret(using: context.resolver) {
            case .value(let value): token = value
            case .missing: throw CLIError("\(id) has no secret")
            case .unresolved(let ref): throw CLIError("\(id): \(ref) does not resolve")
            }
            expires = profile.credential.expires
            if let expires, expires <= WallClock.nowMillis() {
                throw CLIError("the token of \(id) expired at \(ISO8601.format(millis: expires)); add a new one with `gatehouse auth add \(profileID.provider) --name \(profileID.name) --token-stdin --replace`")
            }
        }
        if context.options.json {
            Output.printJSON(["profile": .string(id), "token": .string(token), "expires": Output.jsonTime(expires)])
        } else {
            print(token)
        }
    }
}
