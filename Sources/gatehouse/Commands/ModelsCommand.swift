import ArgumentParser
import GatehouseCore
import GatehouseStore

/// `gatehouse models`.
struct ModelsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "models",
        abstract: "The models an agent can use.",
        subcommands: [ModelsList.self]
    )
}

/// `gatehouse models list`.
struct ModelsList: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "list",
        abstract: "List the models the agent has auth for, and whether each is available now.",
        discussion: """
            A provider counts when the agent has an eligible profile for it, its key is in the \
            environment (one of the provider's envKeys), or it runs on this machine and needs no \
            credential. Availability comes from the agent's health state: a model is unavailable when \
            every profile that could serve it is cooling down or disabled (the reason and the time it \
            ends are shown). Reads the files directly, so it works with or without a running gateway, \
            and gives the same list as the gateway's GET /v1/models. --json prints that same list.
            """
    )

    @OptionGroup var global: GlobalOptions

    @Flag(help: "Also list the models of providers the agent has no auth for (marked missing_auth).")
    var all = false

    @Argument(help: "Only this provider's models.")
    var provider: String?

    func run() async throws {
        let context = try CommandContext(global)
        let store = try context.agentStore()
        var providers = context.providers
        if let provider {
            guard let definition = providers[provider] else {
                throw CLIError("unknown provider '\(provider)'; known providers: \(providers.keys.sorted().joined(separator: ", "))")
            }
            providers = [provider: definition]
        }
        let now = WallClock.nowMillis()
        let built = ModelViewSource.build(
            agent: context.agentID, generation: 0, home: context.home, catalog: EncodedModelCatalog(providers: providers.values),
            environmentProfiles: context.environmentProfiles(), resolver: context.resolver, now: now)
        let view: PreparedModelView
        switch built.result {
        case .success(let prepared): view = prepared
        case .failure(let error): throw CLIError(error.message)
        }
        let availability = view.availability(stats: try store.state.read().statsByProfile, now: now)

        if context.options.json {
            print(String(decoding: view.listJSON(availability: availability, all: all), as: UTF8.self))
            return
        }
        var rows: [[String]] = []
        for (entry, now) in zip(view.providers, availability) where all || entry.hasAuth {
            for model in entry.models {
                let state = now.of(model: model.id)
                rows.append([
                    "\(entry.id)/\(model.id)", state.available ? "yes" : "no", state.reason?.rawValue ?? "-", Output.time(state.until),
                    model.contextWindow.map(String.init) ?? "-",
                ])
            }
        }
        guard !rows.isEmpty else {
            print("Agent '\(context.agentID)' has auth for no provider. Add a key with: gatehouse auth add <provider> --api-key-stdin (or see --all)")
            return
        }
        print(Output.table(headers: ["MODEL", "AVAILABLE", "REASON", "UNTIL", "CONTEXT"], rows: rows), terminator: "")
    }
}
