/// The contents of `gatehouse.json`. Every key is optional; unknown keys are errors that name them.
public struct GatehouseConfiguration: Sendable, Hashable {
    /// Where the gateway listens, and its limits.
    public struct Gateway: Sendable, Hashable {
        public var bind: String = "127.0.0.1"
        public var port: Int = 18789
        /// A model request's body larger than this is refused with 413.
        public var maxBodyBytes: Int = 32 << 20
        /// How long SIGTERM or SIGINT waits for the answers in progress before it cuts them.
        public var drainTimeoutSeconds: Int = 30
        public init() {}
    }

    /// One agent: a separate set of credentials and routing state.
    public struct Agent: Sendable, Hashable {
        public var id: String
        public var isDefault: Bool
        public init(id: String, isDefault: Bool = false) {
            self.id = id
            self.isDefault = isDefault
        }
    }

    /// A model a provider entry adds to the catalog.
    public struct Model: Sendable, Hashable {
        public var id: String
        public var name: String?
        public var contextWindow: Int?
        public init(id: String, name: String? = nil, contextWindow: Int? = nil) {
            self.id = id
            self.name = name
            self.contextWindow = contextWindow
        }
    }

    /// OAuth settings of a provider.
    public struct OAuth: Sendable, Hashable {
        public typealias Encoding = OAuthDefinition.Encoding
        public var tokenURL: String?
        public var clientID: String?
        public var encoding: Encoding?
        public var scopes: [String]?
        public var authorizeURL: String?
        public var deviceAuthorizationURL: String?
        public init() {}
    }

    /// A provider entry: overrides the keys it gives of a built-in provider, or defines a new one.
    public struct Provider: Sendable, Hashable {
        public var api: WireAPI?
        public var baseURL: String?
        public var auth: AuthHeaderStyle?
        public var envKeys: [String]?
        public var oauth: OAuth?
        public var models: [Model]?
        /// `false` for a provider that needs no credential, `true` for one on this machine that does.
        public var requiresAuth: Bool?
        public init() {}
    }

    /// Cooldown tuning (DESIGN section 5).
    public struct Cooldowns: Sendable, Hashable {
        public var transient: [Duration] = [.seconds(30), .seconds(60), .seconds(300)]
        public var authBase: Duration = .seconds(10 * 60)
        public var authMax: Duration = .seconds(60 * 60)
        public var billingBase: Duration = .seconds(10 * 60)
        public var billingMax: Duration = .seconds(24 * 3600)
        public var failureWindow: Duration = .seconds(24 * 3600)
        public init() {}
    }

    /// Credential selection settings.
    public struct Auth: Sendable, Hashable {
        /// The order of profiles per provider, used when the agent has stored none.
        public var order: [String: [ProfileID]] = [:]
        public var cooldowns = Cooldowns()
        public var refreshMargin: Duration = .seconds(300)
        public init() {}
    }

    /// Device pairing policy.
    public struct Pairing: Sendable, Hashable {
        public struct Rule: Sendable, Hashable {
            public var clientMode: String?
            public var maxScopes: [String]
            public init(clientMode: String? = nil, maxScopes: [String]) {
                self.clientMode = clientMode
                self.maxScopes = maxScopes
            }
        }
        public var autoApproveLocal = true
        public var rules: [Rule] = []
        public init() {}
    }

    /// Where state is kept.
    public enum StoreKind: String, Sendable, Hashable, CaseIterable { case file, postgres }

    public var gateway = Gateway()
    /// The configured agents; `main` (the default) when none are configured.
    public var agents: [Agent] = [Agent(id: "main", isDefault: true)]
    public var providers: [String: Provider] = [:]
    public var auth = Auth()
    public var pairing = Pairing()
    public var storeKind: StoreKind = .file
    public var storeURL: String?

    public init() {}

    /// The agent used when a request or command names none.
    public var defaultAgentID: String {
        agents.first(where: \.isDefault)?.id ?? agents.first?.id ?? "main"
    }

    /// The built-in providers with this configuration's overrides applied, and its new providers.
    public var resolvedProviders: [String: ProviderDefinition] {
        var result = BuiltinProviders.all
        for (id, entry) in providers {
            var definition = result[id] ?? ProviderDefinition(id: id, api: .openAIChat, baseURL: "", auth: .bearer, envKeys: [])
            if let api = entry.api { definition.api = api }
            if let url = entry.baseURL { definition.baseURL = url }
            if let auth = entry.auth { definition.auth = auth }
            if let keys = entry.envKeys { definition.envKeys = keys }
            if let requiresAuth = entry.requiresAuth { definition.requiresAuth = requiresAuth }
            if let models = entry.models {
                // Configured models add to the provider's list; one with a known id replaces it.
                for model in models {
                    let added = ModelDefinition(id: model.id, name: model.name, contextWindow: model.contextWindow)
                    if let index = definition.models.firstIndex(where: { $0.id == model.id }) {
                        definition.models[index] = added
                    } else {
                        definition.models.append(added)
                    }
                }
            }
            if let oauth = entry.oauth {
                var merged = definition.oauth ?? OAuthDefinition(tokenURL: "", clientID: "", header: definition.auth)
                if let v = oauth.tokenURL { merged.tokenURL = v }
                if let v = oauth.clientID { merged.clientID = v }
                if let v = oauth.encoding { merged.encoding = v }
                if let v = oauth.scopes { merged.scopes = v }
                if let v = oauth.authorizeURL { merged.authorizeURL = v }
                if let v = oauth.deviceAuthorizationURL { merged.deviceAuthorizationURL = v }
                definition.oauth = merged
            }
            result[id] = definition
        }
        return result
    }
}

/// Agent ids: the canonical name of an agent, used for its folder and everywhere it is keyed.
public enum AgentID {
    /// Checks an agent id: 1 to 64 characters, lowercase letters, digits, `-` and `_`, starting with a
    /// letter or digit.
    /// - Returns: a reason when the id is not valid, else `nil`.
    public static func problem(with id: String) -> String? {
        let scalars = id.unicodeScalars
        guard let first = scalars.first else { return "an agent id must not be empty" }
        if scalars.count > 64 { return "an agent id is at most 64 characters" }
        func lowerAlnum(_ s: Unicode.Scalar) -> Bool { ("a"..."z").contains(s) || ("0"..."9").contains(s) }
        if !lowerAlnum(first) { return "an agent id starts with a lowercase letter or a digit" }
        if let bad = scalars.first(where: { !(lowerAlnum($0) || $0 == "-" || $0 == "_") }) {
            return "an agent id holds only lowercase letters, digits, '-' and '_', not '\(bad)'"
        }
        return nil
    }
}
