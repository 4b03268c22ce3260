import GatehouseCore
import Testing

/// The prepared model view: readiness per provider, availability at read time, the list it renders,
/// and the registry's coalescing and generation guard.
@Suite("model view")
struct ModelViewTests {
    static let now: Int64 = 1_800_000_000_000

    static func provider(_ id: String, baseURL: String? = nil, requiresAuth: Bool? = nil, models: [String]) -> ProviderDefinition {
        var definition = ProviderDefinition(
            id: id, api: .openAIChat, baseURL: baseURL ?? "https://api.\(id).example/v1", auth: .bearer, envKeys: [],
            models: models.map { ModelDefinition(id: $0, name: $0.uppercased(), contextWindow: 1000) })
        definition.requiresAuth = requiresAuth
        return definition
    }

    static func key(_ provider: String, _ name: String, _ secret: String = "sk-secret") -> AuthProfile {
        AuthProfile(id: try! ProfileID(provider: provider, name: name), credential: .apiKey(APIKeyCredential(key: secret)))
    }

    static func id(_ text: String) -> ProfileID { try! ProfileID(parsing: text) }

    static let providers = [
        provider("openai", models: ["gpt-a", "gpt-b"]),
        provider("xai", models: ["grok"]),
        provider("ollama", baseURL: "http://127.0.0.1:11434/v1", models: ["llama"]),
        provider("relay", baseURL: "http://localhost:9000/v1", requiresAuth: true, models: ["relay-1"]),
        provider("anthropic", models: ["claude"]),
    ]

    static func view(profiles: [AuthProfile], environment: [AuthProfile] = [], resolver: StaticSecretResolver = StaticSecretResolver())
        -> PreparedModelView
    {
        PreparedModelView.build(
            agent: "main", generation: 7, catalog: EncodedModelCatalog(providers: providers), profiles: profiles, environmentProfiles: environment,
            resolver: resolver, now: now)
    }

    @Test("Readiness: an eligible profile, a key in the environment, a local provider; nothing else")
    func readiness() throws {
        let expiredToken = AuthProfile(id: Self.id("anthropic:old"), credential: .token(TokenCredential(token: "t", expires: Self.now - 1)))
        let environment = try #require(AuthProfile.environment(provider: "xai", variable: "XAI_API_KEY"))
        let view = Self.view(
            profiles: [Self.key("openai", "a"), expiredToken], environment: [environment],
            resolver: StaticSecretResolver(environment: ["XAI_API_KEY": "xai-secret"]))
        #expect(view.agent == "main")
        #expect(view.generation == 7)
        #expect(view.providers.map(\.id) == ["anthropic", "ollama", "openai", "relay", "xai"])
        let byID = Dictionary(uniqueKeysWithValues: view.providers.map { ($0.id, $0) })
        #expect(byID["openai"]?.readiness == .profile)
        #expect(byID["openai"]?.members.map(\.id) == [Self.id("openai:a")])
        #expect(byID["xai"]?.readiness == .environment)
        #expect(byID["ollama"]?.readiness == .local)
        // On loopback but configured to need a credential.
        #expect(byID["relay"]?.readiness == .missingAuth)
        // Only profile is an expired token: no auth.
        #expect(byID["anthropic"]?.readiness == .missingAuth)
        #expect(byID["anthropic"]?.members.isEmpty == true)
        #expect(view.modelCount == 6)
    }

    @Test("A token that expires later is kept with its end and stops counting after it")
    func expiringToken() {
        let token = AuthProfile(id: Self.id("openai:t"), credential: .token(TokenCredential(token: "t", expires: Self.now + 60_000)))
        let refreshable = AuthProfile(
            id: Self.id("anthropic:login"), credential: .oauth(OAuthCredential(access: "a", refresh: "r", expires: Self.now + 1000)))
        let view = Self.view(profiles: [token, refreshable])
        let openai = view.providers.first { $0.id == "openai" }!
        #expect(openai.members.first?.usableUntil == Self.now + 60_000)
        #expect(openai.availability(stats: [:], now: Self.now).base == .available)
        #expect(openai.availability(stats: [:], now: Self.now + 60_000).base == .missingAuth)
        let anthropic = view.providers.first { $0.id == "anthropic" }!
        #expect(anthropic.members.first?.usableUntil == nil, "an OAuth login that can refresh does not run out")
        #expect(anthropic.availability(stats: [:], now: Self.now + 10_000_000).base == .available)
    }

    @Test("Availability comes from the health state at read time: cooldown, disabled, the earliest end, one model only")
    func availability() {
        let view = Self.view(profiles: [Self.key("openai", "a"), Self.key("openai", "b", "sk-other")])
        let openai = view.providers.first { $0.id == "openai" }!
        let a = Self.id("openai:a")
        let b = Self.id("openai:b")
        let cooling = UsageStats(cooldownUntil: Self.now + 30_000, cooldownReason: .rateLimit)
        let disabled = UsageStats(disabledUntil: Self.now + 600_000, disabledReason: .billing)

        #expect(openai.availability(stats: [:], now: Self.now).base == .available)
        #expect(openai.availability(stats: [a: cooling], now: Self.now).base == .available, "b still serves")
        let both = openai.availability(stats: [a: cooling, b: disabled], now: Self.now).base
        #expect(both == ModelAvailability(available: false, reason: .cooldown, until: Self.now + 30_000), "the first to end wins")
        let allDisabled = openai.availability(stats: [a: disabled, b: disabled], now: Self.now).base
        #expect(allDisabled == ModelAvailability(available: false, reason: .disabled, until: Self.now + 600_000))
        // The windows ran out: available again, with no rebuild.
        #expect(openai.availability(stats: [a: disabled, b: disabled], now: Self.now + 600_000).base == .available)

        // A cooldown of one model leaves the others available.
        let modelCooling = UsageStats(cooldownUntil: Self.now + 5_000, cooldownReason: .rateLimit, cooldownModel: "gpt-b")
        let scoped = openai.availability(stats: [a: modelCooling, b: modelCooling], now: Self.now)
        #expect(scoped.of(model: "gpt-a") == .available)
        #expect(scoped.of(model: "gpt-b") == ModelAvailability(available: false, reason: .cooldown, until: Self.now + 5_000))
    }

    @Test("An auth disable ends when the credential changes (the view holds the fingerprint)")
    func authDisableEndsOnNewCredential() {
        let old = Self.view(profiles: [Self.key("openai", "a", "sk-old")])
        let recordedFingerprint = old.providers.first { $0.id == "openai" }!.members[0].fingerprint
        #expect(recordedFingerprint != nil)
        let stats = [
            Self.id("openai:a"): UsageStats(disabledUntil: Self.now + 3_600_000, disabledReason: .auth, disabledFingerprint: recordedFingerprint)
        ]
        #expect(old.providers.first { $0.id == "openai" }!.availability(stats: stats, now: Self.now).base.reason == .disabled)
        let replaced = Self.view(profiles: [Self.key("openai", "a", "sk-new")])
        #expect(replaced.providers.first { $0.id == "openai" }!.availability(stats: stats, now: Self.now).base == .available)
    }

    @Test("The list: OpenAI shape, only providers with auth unless all, availability fields, names escaped")
    func listJSON() throws {
        var providers = Self.providers
        providers[0].models[0].name = "GPT \"A\" \\ ünï"
        let view = PreparedModelView.build(
            agent: "main", generation: 1, catalog: EncodedModelCatalog(providers: providers), profiles: [Self.key("openai", "a")], environmentProfiles: [],
            resolver: StaticSecretResolver(), now: Self.now)
        let stats = [Self.id("openai:a"): UsageStats(cooldownUntil: Self.now + 30_000, cooldownReason: .rateLimit, cooldownModel: "gpt-b")]
        let availability = view.availability(stats: stats, now: Self.now)

        let list = try JSONValue.parse(view.listJSON(availability: availability, all: false))
        #expect(list["object"] == "list")
        let data = list["data"]?.arrayValue ?? []
        #expect(data.compactMap { $0["id"]?.stringValue } == ["ollama/llama", "openai/gpt-a", "openai/gpt-b"])
        let first = data[1]
        #expect(first["name"]?.stringValue == "GPT \"A\" \\ ünï")
        #expect(first["owned_by"] == "openai")
        #expect(first["object"] == "model")
        #expect(first["contextWindow"] == 1000)
        #expect(first["available"] == true)
        #expect(first["unavailableReason"] == nil)
        let second = data[2]
        #expect(second["available"] == false)
        #expect(second["unavailableReason"] == "cooldown")
        #expect(second["unavailableUntil"]?.stringValue == ISO8601.format(millis: Self.now + 30_000))

        let all = try JSONValue.parse(view.listJSON(availability: availability, all: true))
        let grok = (all["data"]?.arrayValue ?? []).first { $0["id"] == "xai/grok" }
        #expect(grok?["available"] == false)
        #expect(grok?["unavailableReason"] == "missing_auth")
        #expect(grok?["unavailableUntil"] == nil)
        #expect(all["data"]?.arrayValue?.count == 6)
    }

    @Test("The registry: invalidations of one agent coalesce into one rebuild with every reason")
    func coalescing() {
        let registry = ModelViewRegistry()
        registry.invalidate("main", reason: .externalEdit)
        registry.invalidate("helper", reason: .config)
        registry.invalidate("main", reason: .externalEdit)
        registry.invalidate("main", reason: .authFailure)
        #expect(
            registry.takePending() == [
                .init(agent: "main", reasons: [.externalEdit, .authFailure]), .init(agent: "helper", reasons: [.config]),
            ])
        #expect(registry.takePending().isEmpty)
    }

    @Test("Generation guard: a build that started before a newer event never publishes over the newer view")
    func generationGuard() throws {
        let registry = ModelViewRegistry()
        let old = Self.view(profiles: [Self.key("openai", "a")])
        let new = Self.view(profiles: [])
        let slow = registry.beginBuild()
        registry.invalidate("main", reason: .externalEdit)
        let fast = registry.beginBuild()
        #expect(fast > slow)
        #expect(registry.publish("main", generation: fast, result: .success(new), reason: .externalEdit))
        #expect(!registry.publish("main", generation: slow, result: .success(old), reason: .startup), "the slow build is dropped")
        #expect(registry.entry(for: "main")?.generation == fast)
        #expect(try registry.entry(for: "main")?.result.get().providers.first { $0.id == "openai" }?.hasAuth == false)
        // A second build of the same generation does not replace the first either.
        #expect(!registry.publish("main", generation: fast, result: .success(old), reason: .firstRead))
        #expect(registry.counts.published == [.externalEdit: 1])
        #expect(registry.counts.discarded == 2)
        // Agents that leave the configuration lose their view.
        registry.retain(only: ["helper"])
        #expect(registry.entry(for: "main") == nil)
    }
}
