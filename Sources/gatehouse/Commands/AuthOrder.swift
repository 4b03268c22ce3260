import ArgumentParser
import GatehouseCore
import GatehouseStore

/// `gatehouse auth order`.
struct AuthOrder: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "order",
        abstract: "Show or set the order in which a provider's profiles are tried.",
        discussion: """
            With no ids, prints the order in force and where it comes from: the agent's own (set here), \
            the configuration's auth.order, or the default (OAuth, then tokens, then API keys, least \
            recently used first, <provider>:env last). With ids, stores them as the agent's order; \
            --clear removes it.
            """
    )

    @OptionGroup var global: GlobalOptions

    @Argument(help: "The provider.")
    var provider: String

    @Argument(help: "Profile ids in the order to try them.")
    var ids: [String] = []

    @Flag(name: .long, help: "Remove the agent's own order.")
    var clear = false

    func validate() throws {
        if clear && !ids.isEmpty { throw ValidationError("give ids or --clear, not both") }
    }

    func run() async throws {
        let context = try CommandContext(global)
        let store = try context.agentStore()
        if clear {
            try await store.state.update(logger: context.logger) { $0.order[provider] = nil }
        } else if !ids.isEmpty {
            let profiles = try store.profiles.read()
            let envIDs = Set(context.environmentProfiles().map(\.id))
            var seen: Set<ProfileID> = []
            var parsed: [ProfileID] = []
            for text in ids {
                let id: ProfileID
                do { id = try ProfileID(parsing: text) } catch { throw CLIError(error.description) }
                guard id.provider == provider else {
                    throw CLIError("\(id) belongs to provider \(id.provider), not \(provider)")
                }
                guard profiles.profiles[id] != nil || envIDs.contains(id) else {
                    throw CLIError("unknown profile \(id) for agent '\(context.agentID)'; see `gatehouse auth list \(provider)`")
                }
                guard seen.insert(id).inserted else { throw CLIError("\(id) is listed twice") }
                parsed.append(id)
            }
            try await store.state.update(logger: context.logger) { $0.order[provider] = parsed.map(\.description) }
        }
        try show(context, store)
    }

    private func show(_ context: CommandContext, _ store: AgentStore) throws {
        let state = try store.state.read()
        let order: [String]
        let source: String
        if let stored = state.order[provider], !stored.isEmpty {
            (order, source) = (stored, "agent")
        } else if let configured = context.configuration.auth.order[provider], !configured.isEmpty {
            (order, source) = (configured.map(\.description), "config")
        } else {
            let now = WallClock.nowMillis()
            let profiles = (try store.profiles.read().profiles.values.filter { $0.provider == provider }
                + context.environmentProfiles().filter { $0.provider == provider })
                .filter { $0.isEligible(now: now, using: context.resolver) }
            let sorted = BaseOrder.byKindThenLeastRecentlyUsed(profiles) { state.stats(for: $0).lastUsed }
            (order, source) = (sorted.map(\.id.description), "default")
        }
        if context.options.json {
            Output.printJSON(["provider": .string(provider), "source": .string(source), "order": .array(order.map(JSONValue.string))])
            return
        }
        let from = ["agent": "the agent's order", "config": "auth.order in gatehouse.json", "default": "the default order"][source]!
        if order.isEmpty {
            print("\(provider): no profiles (\(from))")
        } else {
            print("\(provider) (\(from)):")
            for (index, id) in order.enumerated() { print("  \(index + 1). \(id)") }
        }
    }
}
