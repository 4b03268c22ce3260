/// Logins kept by other command-line tools, which `gatehouse auth import` reads.
public enum ExternalLogin: String, Sendable, Hashable, CaseIterable {
    /// Claude Code: `~/.claude/.credentials.json`, `{"claudeAiOauth":{"accessToken","refreshToken","expiresAt",...}}`.
    case claude
    /// Codex CLI: `$CODEX_HOME/auth.json` or `~/.codex/auth.json`, `{"tokens":{"access_token","refresh_token","id_token","account_id"},...}`.
    case codex

    /// The provider the login belongs to.
    public var provider: String {
        switch self {
        case .claude: "anthropic"
        case .codex: "openai-codex"
        }
    }

    /// What an import read.
    public struct Imported: Sendable, Hashable {
        public var provider: String
        public var credential: OAuthCredential
    }

    /// Reads the tool's credentials file.
    /// - Throws: `JSONFieldError` naming the field that is missing or wrong.
    public func parse(_ json: JSONValue) throws(JSONFieldError) -> Imported {
        switch self {
        case .claude:
            var root = try JSONFieldReader(json, path: "")
            guard var oauth = try root.object("claudeAiOauth") else {
                throw JSONFieldError(field: "claudeAiOauth", reason: "missing; this does not look like Claude Code's credentials file")
            }
            let access = try oauth.string("accessToken", nonEmpty: true)
            let refresh = try oauth.string("refreshToken", nonEmpty: true)
            guard access != nil || refresh != nil else {
                throw JSONFieldError(field: "claudeAiOauth.accessToken", reason: "missing, and no refreshToken either")
            }
            let expires = try oauth.int("expiresAt")
            return Imported(provider: provider, credential: OAuthCredential(access: access, refresh: refresh, expires: expires))
        case .codex:
            var root = try JSONFieldReader(json, path: "")
            guard var tokens = try root.object("tokens") else {
                throw JSONFieldError(field: "tokens", reason: "missing; this Codex login has no OAuth tokens (an API-key login is added with `gatehouse auth add openai`)")
            }
            let access = try tokens.string("access_token", nonEmpty: true)
            let refresh = try tokens.string("refresh_token", nonEmpty: true)
            guard access != nil || refresh != nil else {
                throw JSONFieldError(field: "tokens.access_token", reason: "missing, and no refresh_token either")
            }
            let idClaims = try tokens.string("id_token").flatMap(JWTClaims.init(token:))
            let accessClaims = access.flatMap(JWTClaims.init(token:))
            let account = try tokens.string("account_id") ?? idClaims?.accountID ?? accessClaims?.accountID
            return Imported(
                provider: provider,
                credential: OAuthCredential(
                    access: access, refresh: refresh, expires: accessClaims?.expires, email: idClaims?.email ?? accessClaims?.email,
                    accountId: account))
        }
    }
}
