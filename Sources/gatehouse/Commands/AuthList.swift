import ArgumentParser
import GatehouseCore
import GatehouseStore

/// `gatehouse auth list`.
struct AuthList: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "list",
        abstract: "List the agent's profiles: type, fingerprint, state and health. Never the secrets.",
        discussion: """
            States: ok, expired, missing_credential, unresolved_ref, cooldown, disabled, and invalid for \
            an entry of the file that cannot be used (it is kept as it is; see the problem column). \
            A provider key found in the environment shows as the read-only profile <provider>:env.
            """
    )

    @OptionGroup var global: GlobalOptions

    @Argument(help: "Only this provider's profiles.")
    var provider: String?

    func run() async throws {
        let context = try CommandContext(global)
        let store = try context.agentStore()
        let profiles = try store.profiles.read()
        let state = try store.state.read()
        let now = WallClock.nowMillis()
        var rows: [ProfileRow] = []
        for profile in profiles.sortedProfiles + context.environmentProfiles() {
            rows.append(ProfileRow(profile: profile, stats: state.stats(for: profile.id), now: now, resolver: context.resolver))
        }
        for entry in profiles.invalidEntries.values.sorted(by: { $0.key < $1.key }) {
            rows.append(ProfileRow(invalid: entry))
        }
        if let provider { rows = rows.filter { $0.provider == provider } }

        if context.options.json {
            Output.printJSON(["agent": .string(context.agentID), "profiles": .array(rows.map(\.json))])
            return
        }
        guard !rows.isEmpty else {
            print("No profiles for agent '\(context.agentID)'. Add one with: gatehouse auth add <provider> --api-key-stdin")
            return
        }
        print(Output.table(
            headers: ["ID", "TYPE", "FINGERPRINT", "STATE", "EXPIRES", "LAST USED", "ERRORS", "NOTE"],
            rows: rows.map { row in
                [row.id, row.type ?? "?", row.fingerprint ?? "-", row.state, Output.time(row.expires),
                 Output.time(row.stats.lastUsed), String(row.stats.errorCount), row.note]
            }), terminator: "")
    }
}
