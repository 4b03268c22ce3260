import GatehouseCore
import Testing

/// The model catalogs of the built-in providers.
@Suite struct BuiltinCatalogTests {

    static let providerIDs = BuiltinProviders.all.keys.sorted()

    /// The providers the gateway routes to by name.
    static let required = [
        "anthropic", "openai", "openai-codex", "xai", "openrouter", "groq", "mistral", "deepseek", "together", "fireworks",
        "cerebras", "gemini", "ollama", "lm-studio", "vllm",
    ]

    @Test func theProvidersTheGatewayNeedsAreBuiltIn() {
        for id in Self.required {
            #expect(BuiltinProviders.all[id] != nil, "\(id) is missing")
        }
    }

    @Test func theLocalServersAreLocal() throws {
        for id in ["ollama", "lm-studio", "vllm"] {
            let provider = try #require(BuiltinProviders.all[id])
            #expect(provider.isLocal, "\(id)")
        }
    }

    @Test func theCatalogIsNotTrivial() {
        #expect(BuiltinProviders.all.count >= Self.required.count)
        #expect(BuiltinProviders.all.values.reduce(0) { $0 + $1.models.count } >= 100)
    }

    @Test(arguments: providerIDs)
    func everyProviderHasModels(_ id: String) throws {
        let provider = try #require(BuiltinProviders.all[id])
        #expect(!provider.models.isEmpty)
    }

    @Test(arguments: providerIDs)
    func modelIDsAreUniqueAndNonEmpty(_ id: String) throws {
        let provider = try #require(BuiltinProviders.all[id])
        var seen: Set<String> = []
        for model in provider.models {
            #expect(!model.id.isEmpty)
            #expect(!model.id.contains { $0.isWhitespace }, "\(model.id) holds white space")
            #expect(!model.id.hasPrefix("/") && !model.id.hasSuffix("/"), "\(model.id)")
            #expect(seen.insert(model.id).inserted, "\(model.id) is listed twice")
        }
    }

    @Test(arguments: providerIDs)
    func namesAndContextWindowsAreSensible(_ id: String) throws {
        let provider = try #require(BuiltinProviders.all[id])
        for model in provider.models {
            #expect(model.name.contains { !$0.isWhitespace }, "\(model.id) has no name")
            if let window = model.contextWindow {
                #expect(window > 0, "\(model.id): \(window)")
            }
        }
    }

    /// Clients name a model `<provider>/<model id>` and Gatehouse splits at the first `/`, so every
    /// model, even one whose id holds `/`, comes back to its provider and id.
    @Test(arguments: providerIDs)
    func qualifiedNamesSplitBackAtTheFirstSlash(_ id: String) throws {
        let provider = try #require(BuiltinProviders.all[id])
        #expect(!provider.id.contains("/"))
        for model in provider.models {
            let qualified = "\(provider.id)/\(model.id)"
            let slash = try #require(qualified.firstIndex(of: "/"))
            #expect(String(qualified[..<slash]) == provider.id)
            #expect(String(qualified[qualified.index(after: slash)...]) == model.id)
        }
    }

    @Test func wellKnownModelsAreListed() throws {
        let expected: [String: [String]] = [
            "anthropic": ["claude-sonnet-4-5", "claude-opus-4-1", "claude-haiku-4-5", "claude-3-7-sonnet-latest", "claude-3-5-haiku-latest"],
            "openai": ["gpt-5", "gpt-5-mini", "gpt-5-nano", "gpt-4.1", "gpt-4.1-mini", "gpt-4o", "gpt-4o-mini", "o3", "o4-mini"],
            "openai-codex": ["gpt-5-codex", "gpt-5"],
            "xai": ["grok-4", "grok-3", "grok-3-mini", "grok-code-fast-1"],
            "openrouter": ["anthropic/claude-sonnet-4.5", "openai/gpt-5", "google/gemini-2.5-pro", "meta-llama/llama-3.3-70b-instruct",
                           "deepseek/deepseek-chat-v3.1"],
            "groq": ["llama-3.3-70b-versatile", "llama-3.1-8b-instant", "openai/gpt-oss-120b"],
            "mistral": ["mistral-large-latest", "mistral-medium-latest", "mistral-small-latest", "codestral-latest"],
            "deepseek": ["deepseek-chat", "deepseek-reasoner"],
            "gemini": ["gemini-2.5-pro", "gemini-2.5-flash", "gemini-2.5-flash-lite"],
            "ollama": ["llama3.2", "qwen2.5-coder"],
        ]
        for (provider, ids) in expected {
            let listed = Set(try #require(BuiltinProviders.all[provider], "\(provider)").models.map(\.id))
            for id in ids {
                #expect(listed.contains(id), "\(provider)/\(id) is missing")
            }
        }
    }

    @Test func providerSpecificIDFormsAreKept() throws {
        let fireworks = try #require(BuiltinProviders.all["fireworks"])
        for model in fireworks.models {
            #expect(model.id.hasPrefix("accounts/fireworks/models/"), "\(model.id)")
        }
        let openRouter = try #require(BuiltinProviders.all["openrouter"])
        for model in openRouter.models {
            #expect(model.id.split(separator: "/").count == 2, "\(model.id) is not vendor/model")
        }
        // The anthropic catalog uses Anthropic's ids, not OpenRouter's dotted spelling.
        let anthropic = try #require(BuiltinProviders.all["anthropic"])
        #expect(!anthropic.models.contains { $0.id.contains(".") || $0.id.contains("/") })
    }
}
