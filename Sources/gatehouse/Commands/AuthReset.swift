import ArgumentParser
import GatehouseCore
import GatehouseStore

/// `gatehouse auth reset`.
struct AuthReset: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "reset",
        abstract: "End every window (cooldown, disable) of a profile and reset its counters.",
        discussion: "A running gateway picks the change up on the profile's next use."
    )

    @OptionGroup var global: GlobalOptions

    @Argument(help: "The profile id.")
    var id: String

    func run() async throws {
        let context = try CommandContext(global)
        let profileID: ProfileID
        do { profileID = try ProfileID(parsing: id) } catch { throw CLIError(error.description) }
        let snapshot = try SelectionSnapshot(context)
        guard snapshot.contains(profileID) || snapshot.state.usageStats[id] != nil else {
            throw CLIError("no profile \(id) for agent '\(context.agentID)'; see `gatehouse auth list`")
        }
        let policy = CooldownPolicy(context.configuration.auth.cooldowns)
        let store = try context.agentStore()
        let resetAt = WallClock.nowMillis()
        let before = try await store.state.update(logger: context.logger) { document -> UsageStats in
            let before = document.usageStats[id] ?? UsageStats()
            var stats = before
            policy.reset(&stats, now: resetAt)
            document.usageStats[id] = stats
            return before
        }
        let now = WallClock.nowMillis()
        let ended = before.windows(now: now, credentialFingerprint: nil)
        if context.options.json {
            Output.printJSON([
                "reset": .string(id), "agent": .string(context.agentID), "endedWindows": .array(ended.map(\.json)),
                "previousErrorCount": .int(Int64(before.errorCount)),
            ])
        } else if ended.isEmpty {
            print("reset \(id): no window was active; counters cleared (were \(before.errorCount) error(s))")
        } else {
            print("reset \(id): ended \(ended.map(\.text).joined(separator: ", ")); counters cleared")
        }
    }
}
