import ArgumentParser
import GatehouseCore
import GatehouseStore

/// `gatehouse auth remove`.
struct AuthRemove: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "remove",
        abstract: "Remove a profile from the agent, with its order entries and health state."
    )

    @OptionGroup var global: GlobalOptions

    @Argument(help: "The profile id, for example anthropic:backup.")
    var id: String

    func run() async throws {
        let context = try CommandContext(global)
        let store = try context.agentStore()
        if let parsed = try? ProfileID(parsing: id), parsed.name == AuthProfile.environmentProfileName {
            let variables = context.providers[parsed.provider]?.envKeys.joined(separator: " or ") ?? "its variable"
            throw CLIError("\(id) is read-only: it comes from the environment (\(variables)); unset the variable to remove it")
        }
        let removed = try await store.profiles.update(logger: context.logger) { document -> Bool in
            if let parsed = try? ProfileID(parsing: id), document.profiles.removeValue(forKey: parsed) != nil {
                return true
            }
            return document.invalidEntries.removeValue(forKey: id) != nil
        }
        guard removed else {
            throw CLIError("no profile \(id) in \(store.profiles.path); see `gatehouse auth list`")
        }
        try await store.state.update(logger: context.logger) { state in
            state.usageStats[id] = nil
            for (provider, ids) in state.order where ids.contains(id) {
                state.order[provider] = ids.filter { $0 != id }
            }
            for (provider, good) in state.lastGood where good == id {
                state.lastGood[provider] = nil
            }
        }
        if context.options.json {
            Output.printJSON(["removed": .string(id), "agent": .string(context.agentID)])
        } else {
            print("removed \(id)")
        }
    }
}
