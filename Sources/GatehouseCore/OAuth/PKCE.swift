import Crypto

/// A PKCE pair (RFC 7636) and the `state` of one authorization.
public struct PKCE: Sendable, Hashable {
    /// The secret the client keeps (43 characters of base64url).
    public var verifier: String
    /// `base64url(SHA-256(verifier))`, sent in the authorization request.
    public var challenge: String
    /// An unguessable value the callback must echo.
    public var state: String

    public init(verifier: String, state: String) {
        self.verifier = verifier
        self.challenge = Self.challenge(for: verifier)
        self.state = state
    }

    /// A new random pair and state.
    public static func generate() -> PKCE {
        var rng = SystemRandomNumberGenerator()
        func random(_ count: Int) -> String { Base64URL.encode((0..<count).map { _ in UInt8.random(in: 0...255, using: &rng) }) }
        return PKCE(verifier: random(32), state: random(24))
    }

    /// The S256 challenge of a verifier.
    public static func challenge(for verifier: String) -> String {
        Base64URL.encode(SHA256.hash(data: Array(verifier.utf8)))
    }
}
