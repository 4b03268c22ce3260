/// The three kinds of credential a profile can hold, with their names as stored in files.
public enum CredentialType: String, Sendable, Hashable, CaseIterable {
    /// A provider API key, inline (`key`) or referenced (`keyRef`).
    case apiKey = "api_key"
    /// A static bearer token, inline (`token`) or referenced (`tokenRef`), optionally expiring. Never refreshed.
    case token
    /// An OAuth login: `access`, `refresh`, `expires`, with the account it belongs to.
    case oauth
}

/// An API key, stored inline or as a reference.
public struct APIKeyCredential: Sendable, Hashable {
    public var key: String?
    public var keyRef: SecretRef?

    public init(key: String? = nil, keyRef: SecretRef? = nil) {
        self.key = key
        self.keyRef = keyRef
    }
}

/// A static bearer token, stored inline or as a reference.
public struct TokenCredential: Sendable, Hashable {
    public var token: String?
    public var tokenRef: SecretRef?
    /// When the token stops working (milliseconds since the epoch), if known.
    public var expires: Int64?

    public init(token: String? = nil, tokenRef: SecretRef? = nil, expires: Int64? = nil) {
        self.token = token
        self.tokenRef = tokenRef
        self.expires = expires
    }
}

/// An OAuth login.
public struct OAuthCredential: Sendable, Hashable {
    public var access: String?
    public var refresh: String?
    /// When the access token expires (milliseconds since the epoch).
    public var expires: Int64?
    public var email: String?
    public var accountId: String?
    public var clientId: String?

    public init(
        access: String? = nil, refresh: String? = nil, expires: Int64? = nil,
        email: String? = nil, accountId: String? = nil, clientId: String? = nil
    ) {
        self.access = access
        self.refresh = refresh
        self.expires = expires
        self.email = email
        self.accountId = accountId
        self.clientId = clientId
    }
}

/// What a profile holds.
public enum Credential: Sendable, Hashable {
    case apiKey(APIKeyCredential)
    case token(TokenCredential)
    case oauth(OAuthCredential)

    /// The kind of this credential.
    public var type: CredentialType {
        switch self {
        case .apiKey: .apiKey
        case .token: .token
        case .oauth: .oauth
        }
    }

    /// When the credential expires, if it does (tokens and OAuth access tokens).
    public var expires: Int64? {
        switch self {
        case .apiKey: nil
        case .token(let token): token.expires
        case .oauth(let oauth): oauth.expires
        }
    }

    /// The account e-mail of an OAuth login.
    public var email: String? {
        if case .oauth(let oauth) = self { return oauth.email }
        return nil
    }
}
