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
    /// The models it serves, by their provider-side id.
    public var models: [ModelDefinition]
    /// Whether a request needs a credential; `nil` decides by the base URL (see `needsCredential`).
    public var requiresAuth: Bool?

    public init(
        id: String, api: WireAPI, baseURL: String, auth: AuthHeaderStyle, envKeys: [String], oauth: OAuthDefinition? = nil,
        models: [ModelDefinition] = []
    ) {
        self.id = id
        self.api = api
        self.baseURL = baseURL
        self.auth = auth
        self.envKeys = envKeys
        self.oauth = oauth
        self.models = models
    }

    /// Whether a request needs a credential: as configured, or else not for a provider on this
    /// machine (`isLocal`) and always for any other.
    public var needsCredential: Bool { requiresAuth ?? !isLocal }

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

/// A model of a provider's catalog.
public struct ModelDefinition: Sendable, Hashable, Identifiable {
    /// The provider-side id (`claude-sonnet-4-5`); clients name it `provider/id`.
    public var id: String
    public var name: String
    public var contextWindow: Int?

    public init(id: String, name: String? = nil, contextWindow: Int? = nil) {
        self.id = id
        self.name = name ?? id
        self.contextWindow = contextWindow
    }
}
