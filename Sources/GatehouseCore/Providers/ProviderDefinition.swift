/// The wire format a provider speaks.
public enum WireAPI: String, Sendable, Hashable, CaseIterable {
    case openAIChat = "openai-chat"
    case anthropicMessages = "anthropic-messages"
}

/// How a credential goes into an upstream request.
public enum AuthHeaderStyle: String, Sendable, Hashable, CaseIterable {
    /// `Authorization: Bearer <secret>`
    case bearer
    /// `x-api-key: <secret>`
    case xAPIKey = "x-api-key"
}

/// What Gatehouse knows of one provider: where it is, how it authenticates, where its keys live in
/// the environment.
public struct ProviderDefinition: Sendable, Hashable, Identifiable {
    public var id: String
    public var api: WireAPI
    public var baseURL: String
    public var auth: AuthHeaderStyle
    /// Environment variables holding an API key, first found wins. The key acts as the read-only
    /// profile `<provider>:env`.
    public var envKeys: [String]
    /// How the provider's OAuth logins work, when it has them.
    public var oauth: OAuthDefinition?

    public init(id: String, api: WireAPI, baseURL: String, auth: AuthHeaderStyle, envKeys: [String], oauth: OAuthDefinition? = nil) {
        self.id = id
        self.api = api
        self.baseURL = baseURL
        self.auth = auth
        self.envKeys = envKeys
        self.oauth = oauth
    }

    /// Whether the provider runs on this machine (its base URL's host is a loopback address or
    /// `localhost`) and so may need no credential.
    public var isLocal: Bool {
        guard let host = Self.host(of: baseURL) else { return false }
        if host == "localhost" || host == "[::1]" { return true }
        let parts = host.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 4, parts[0] == "127" else { return false }
        return parts.allSatisfy { part in UInt8(part) != nil }
    }

    /// The lowercased host of an `http(s)://` URL, without user info and port.
    static func host(of url: String) -> String? {
        let lower = url.lowercased()
        guard let scheme = lower.firstRange(of: "://"), lower.hasPrefix("http") else { return nil }
        var authority = lower[scheme.upperBound...].prefix { $0 != "/" && $0 != "?" && $0 != "#" }
        if let at = authority.lastIndex(of: "@") { authority = authority[authority.index(after: at)...] }
        if authority.hasPrefix("[") {
            guard let close = authority.firstIndex(of: "]") else { return nil }
            return String(authority[...close])
        }
        if let colon = authority.lastIndex(of: ":") { authority = authority[..<colon] }
        return authority.isEmpty ? nil : String(authority)
    }
}

/// The providers Gatehouse knows without any configuration.
public enum BuiltinProviders {
    /// Every built-in provider, by id.
    public static let all: [String: ProviderDefinition] = {
        let list: [ProviderDefinition] = [
            .init(
                id: "anthropic", api: .anthropicMessages, baseURL: "https://api.anthropic.com", auth: .xAPIKey, envKeys: ["ANTHROPIC_API_KEY"],
                oauth: OAuthDefinition(
                    tokenURL: "https://console.anthropic.com/v1/oauth/token", clientID: "9d1c250a-e61b-44d9-88ed-5944d1962f5e",
                    encoding: .json, scopes: ["org:create_api_key", "user:profile", "user:inference"],
                    authorizeURL: "https://claude.ai/oauth/authorize", header: .bearer,
                    extraHeaders: ["anthropic-beta": "oauth-2025-04-20"])),
            .init(
                id: "openai-codex", api: .openAIChat, baseURL: "https://chatgpt.com/backend-api/codex", auth: .bearer, envKeys: [],
                oauth: OAuthDefinition(
                    tokenURL: "https://auth.openai.com/oauth/token", clientID: "app_EMoamEEZ73f0CkXaXp7hrann", encoding: .json,
                    scopes: ["openid", "profile", "email", "offline_access"], authorizeURL: "https://auth.openai.com/oauth/authorize")),
            .init(id: "openai", api: .openAIChat, baseURL: "https://api.openai.com/v1", auth: .bearer, envKeys: ["OPENAI_API_KEY"]),
            .init(id: "xai", api: .openAIChat, baseURL: "https://api.x.ai/v1", auth: .bearer, envKeys: ["XAI_API_KEY"]),
            .init(id: "openrouter", api: .openAIChat, baseURL: "https://openrouter.ai/api/v1", auth: .bearer, envKeys: ["OPENROUTER_API_KEY"]),
            .init(id: "groq", api: .openAIChat, baseURL: "https://api.groq.com/openai/v1", auth: .bearer, envKeys: ["GROQ_API_KEY"]),
            .init(id: "mistral", api: .openAIChat, baseURL: "https://api.mistral.ai/v1", auth: .bearer, envKeys: ["MISTRAL_API_KEY"]),
            .init(id: "deepseek", api: .openAIChat, baseURL: "https://api.deepseek.com/v1", auth: .bearer, envKeys: ["DEEPSEEK_API_KEY"]),
            .init(id: "together", api: .openAIChat, baseURL: "https://api.together.xyz/v1", auth: .bearer, envKeys: ["TOGETHER_API_KEY"]),
            .init(id: "fireworks", api: .openAIChat, baseURL: "https://api.fireworks.ai/inference/v1", auth: .bearer, envKeys: ["FIREWORKS_API_KEY"]),
            .init(id: "cerebras", api: .openAIChat, baseURL: "https://api.cerebras.ai/v1", auth: .bearer, envKeys: ["CEREBRAS_API_KEY"]),
            .init(id: "gemini", api: .openAIChat, baseURL: "https://generativelanguage.googleapis.com/v1beta/openai", auth: .bearer, envKeys: ["GEMINI_API_KEY", "GOOGLE_API_KEY"]),
            .init(id: "ollama", api: .openAIChat, baseURL: "http://127.0.0.1:11434/v1", auth: .bearer, envKeys: ["OLLAMA_API_KEY"]),
            .init(id: "lm-studio", api: .openAIChat, baseURL: "http://127.0.0.1:1234/v1", auth: .bearer, envKeys: ["LM_STUDIO_API_KEY"]),
            .init(id: "vllm", api: .openAIChat, baseURL: "http://127.0.0.1:8000/v1", auth: .bearer, envKeys: ["VLLM_API_KEY"]),
        ]
        return Dictionary(uniqueKeysWithValues: list.map { ($0.id, $0) })
    }()
}
