import GatehouseCore

/// A refresh-token grant to send to a provider's token endpoint.
public struct RefreshGrant: Sendable, Hashable {
    public var tokenURL: String
    public var clientID: String
    public var encoding: OAuthDefinition.Encoding
    public var refreshToken: String
    public var scopes: [String]

    public init(tokenURL: String, clientID: String, encoding: OAuthDefinition.Encoding, refreshToken: String, scopes: [String] = []) {
        self.tokenURL = tokenURL
        self.clientID = clientID
        self.encoding = encoding
        self.refreshToken = refreshToken
        self.scopes = scopes
    }

    /// The parameters of the grant (RFC 6749 section 6).
    public var parameters: [(String, String)] {
        [("grant_type", "refresh_token"), ("refresh_token", refreshToken), ("client_id", clientID)]
    }
}

/// Talks to token endpoints. The HTTP implementation lives with the upstream client; tests of the
/// manager use it against the mock provider.
public protocol TokenEndpoint: Sendable {
    /// Sends a refresh grant. Throws only when no answer came (connection, timeout); an answer that
    /// is an error is a `.failure`.
    func refresh(_ grant: RefreshGrant) async throws -> TokenEndpointResult
}
