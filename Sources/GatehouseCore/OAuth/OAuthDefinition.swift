/// How a provider's OAuth logins work: where tokens come from and how requests carry them.
public struct OAuthDefinition: Sendable, Hashable {
    /// How the token endpoint wants its parameters.
    public enum Encoding: String, Sendable, Hashable, CaseIterable {
        /// `application/x-www-form-urlencoded` (RFC 6749).
        case form
        /// A JSON object.
        case json
    }

    public var tokenURL: String
    public var clientID: String
    public var encoding: Encoding
    public var scopes: [String]
    /// The authorization endpoint for the code flow with PKCE, when the provider has one.
    public var authorizeURL: String?
    /// The device authorization endpoint (RFC 8628), when the provider has one.
    public var deviceAuthorizationURL: String?
    /// How an access token goes into an upstream request.
    public var header: AuthHeaderStyle
    /// Extra headers an OAuth request must carry (for example a beta flag).
    public var extraHeaders: [String: String]

    public init(
        tokenURL: String, clientID: String, encoding: Encoding = .form, scopes: [String] = [],
        authorizeURL: String? = nil, deviceAuthorizationURL: String? = nil, header: AuthHeaderStyle = .bearer,
        extraHeaders: [String: String] = [:]
    ) {
        self.tokenURL = tokenURL
        self.clientID = clientID
        self.encoding = encoding
        self.scopes = scopes
        self.authorizeURL = authorizeURL
        self.deviceAuthorizationURL = deviceAuthorizationURL
        self.header = header
        self.extraHeaders = extraHeaders
    }

    /// The headers that carry `accessToken` upstream.
    public func requestHeaders(accessToken: String) -> [(String, String)] {
        var headers: [(String, String)]
        switch header {
        case .bearer: headers = [("authorization", "Bearer \(accessToken)")]
        case .xAPIKey: headers = [("x-api-key", accessToken)]
        }
        for (name, value) in extraHeaders.sorted(by: { $0.key < $1.key }) { headers.append((name, value)) }
        return headers
    }
}
