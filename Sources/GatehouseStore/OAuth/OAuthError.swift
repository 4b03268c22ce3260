import GatehouseCore

/// Why a usable access token could not be had.
public struct OAuthError: Error, Sendable, CustomStringConvertible {
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Base: String, Hashable, Sendable {
            case notOAuth = "not_oauth"
            case notFound = "not_found"
            case noRefreshToken = "no_refresh_token"
            case loginRequired = "login_required"
            case refreshFailed = "refresh_failed"
            case lockTimeout = "lock_timeout"
            case noOAuthSettings = "no_oauth_settings"
        }
        private let base: Base
        private init(_ base: Base) { self.base = base }
        /// The profile is not an OAuth login.
        public static let notOAuth = Code(.notOAuth)
        /// No such profile.
        public static let notFound = Code(.notFound)
        /// The access token has expired and there is no refresh token.
        public static let noRefreshToken = Code(.noRefreshToken)
        /// The provider rejected the refresh token: only a new login helps.
        public static let loginRequired = Code(.loginRequired)
        /// The token endpoint failed for a reason that may pass.
        public static let refreshFailed = Code(.refreshFailed)
        /// Another process held the refresh lock for the whole deadline and stored no usable token.
        public static let lockTimeout = Code(.lockTimeout)
        /// The provider has no token endpoint configured.
        public static let noOAuthSettings = Code(.noOAuthSettings)
        public var description: String { base.rawValue }
    }

    public var code: Code
    public var profile: String
    public var message: String

    public init(code: Code, profile: String, message: String) {
        self.code = code
        self.profile = profile
        self.message = message
    }

    public var description: String { message }
}
