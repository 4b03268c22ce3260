/// What a token endpoint answered.
public enum TokenEndpointResult: Sendable, Hashable {
    case tokens(TokenResponse)
    /// An OAuth error answer (`{"error":"invalid_grant", ...}`) or another failure.
    case failure(TokenEndpointError)
}

/// New tokens from a token endpoint.
public struct TokenResponse: Sendable, Hashable {
    public var accessToken: String
    /// A new refresh token; `nil` when the endpoint keeps the old one valid.
    public var refreshToken: String?
    /// When the access token expires (milliseconds since the epoch), from `expires_in`.
    public var expires: Int64?
    /// The account e-mail, from the response or its `id_token`.
    public var email: String?
    public var accountID: String?
    public var idToken: String?

    public init(accessToken: String, refreshToken: String? = nil, expires: Int64? = nil, email: String? = nil, accountID: String? = nil, idToken: String? = nil) {
        self.accessToken = accessToken
        self.refreshToken = refreshToken
        self.expires = expires
        self.email = email
        self.accountID = accountID
        self.idToken = idToken
    }

    /// Reads a token endpoint's JSON answer received at `now`.
    public static func parse(status: Int, body: [UInt8], now: Int64) -> TokenEndpointResult {
        let json = try? JSONValue.parse(body)
        if (200..<300).contains(status), let json, let access = json["access_token"]?.stringValue, !access.isEmpty {
            let expiresIn = json["expires_in"]?.doubleValue
            let idToken = json["id_token"]?.stringValue
            let claims = idToken.flatMap(JWTClaims.init(token:))
            let email = json["email"]?.stringValue ?? json["account"]?["email_address"]?.stringValue ?? claims?.email
            let account = json["account_id"]?.stringValue ?? json["account"]?["uuid"]?.stringValue ?? claims?.accountID
            return .tokens(TokenResponse(
                accessToken: access, refreshToken: json["refresh_token"]?.stringValue.flatMap { $0.isEmpty ? nil : $0 },
                expires: expiresIn.flatMap(ISO8601.millis(fromSeconds:)).map { now + $0 }, email: email, accountID: account, idToken: idToken))
        }
        let code = json?["error"]?.stringValue ?? json?["error"]?["type"]?.stringValue ?? json?["error"]?["code"]?.stringValue
        let description = json?["error_description"]?.stringValue ?? json?["error"]?["message"]?.stringValue
        let text = description ?? String(decoding: body.prefix(300), as: UTF8.self)
        return .failure(TokenEndpointError(status: status, code: code, description: text))
    }
}

/// A token endpoint refused or failed.
public struct TokenEndpointError: Error, Sendable, Hashable, CustomStringConvertible {
    public var status: Int
    /// The OAuth error code (`invalid_grant`, `invalid_client`, ...), when the answer had one.
    public var code: String?
    public var description: String

    public init(status: Int, code: String?, description: String) {
        self.status = status
        self.code = code
        self.description = description
    }

    /// Whether logging in again is the only way out: the refresh token is invalid, reused, revoked or
    /// expired, or the client is not accepted. Anything else (5xx, timeouts, rate limits) is transient.
    public var isPermanent: Bool {
        if let code, ["invalid_grant", "invalid_client", "unauthorized_client", "access_denied"].contains(code) { return true }
        let text = description.lowercased()
        if status == 400 || status == 401 || status == 403 {
            return ["refresh token", "revoked", "reused", "expired", "invalid_grant"].contains { text.contains($0) }
        }
        return false
    }
}
