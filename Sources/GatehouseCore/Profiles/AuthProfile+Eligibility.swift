/// What the credential of a profile looks like right now, before any health state is considered.
public enum CredentialState: String, Sendable, Hashable, CaseIterable {
    /// Present, well formed, not expired.
    case ok
    /// A token or OAuth access token past its expiry. An OAuth profile with a refresh token is still
    /// eligible: it can refresh.
    case expired
    /// No secret at all (an empty `key`, an OAuth entry with neither access nor refresh token).
    case missingCredential = "missing_credential"
    /// A `keyRef` or `tokenRef` that does not resolve (unset variable, unreadable file).
    case unresolvedRef = "unresolved_ref"
}

/// The secret a profile would send, after references are resolved.
public enum SecretLookup: Sendable, Hashable {
    case value(String)
    case missing
    case unresolved(SecretRef)

    /// The secret, when there is one.
    public var value: String? {
        if case .value(let value) = self { return value }
        return nil
    }
}

extension AuthProfile {
    /// The secret this profile authenticates with: the API key, the token, or the OAuth access token.
    public func secret(using resolver: some SecretResolver) -> SecretLookup {
        func lookup(_ inline: String?, _ ref: SecretRef?) -> SecretLookup {
            if let inline, !inline.isEmpty { return .value(inline) }
            if let ref {
                if let value = resolver.resolve(ref) { return .value(value) }
                return .unresolved(ref)
            }
            return .missing
        }
        switch credential {
        case .apiKey(let c): return lookup(c.key, c.keyRef)
        case .token(let c): return lookup(c.token, c.tokenRef)
        case .oauth(let c): return lookup(c.access, nil)
        }
    }

    /// The fingerprint of the secret, or `nil` when there is none to show.
    public func fingerprint(using resolver: some SecretResolver) -> String? {
        if case .oauth(let c) = credential, c.access?.isEmpty ?? true, let refresh = c.refresh, !refresh.isEmpty {
            return Fingerprint.of(refresh)
        }
        return secret(using: resolver).value.map(Fingerprint.of)
    }

    /// The state of the credential at `now` (milliseconds since the epoch).
    public func credentialState(now: Int64, using resolver: some SecretResolver) -> CredentialState {
        if case .oauth(let c) = credential {
            let hasAccess = !(c.access?.isEmpty ?? true)
            let hasRefresh = !(c.refresh?.isEmpty ?? true)
            if !hasAccess && !hasRefresh { return .missingCredential }
            if !hasAccess { return .expired }
            if let expires = c.expires, expires <= now { return .expired }
            return .ok
        }
        switch secret(using: resolver) {
        case .missing: return .missingCredential
        case .unresolved: return .unresolvedRef
        case .value:
            if let expires = credential.expires, expires <= now { return .expired }
            return .ok
        }
    }

    /// Whether the profile may be used at all: the credential is present and well formed, a static
    /// token is not expired, references resolve. An expired OAuth login is eligible when it can refresh.
    public func isEligible(now: Int64, using resolver: some SecretResolver) -> Bool {
        switch credentialState(now: now, using: resolver) {
        case .ok: return true
        case .expired:
            if case .oauth(let c) = credential { return !(c.refresh?.isEmpty ?? true) }
            return false
        case .missingCredential, .unresolvedRef: return false
        }
    }
}
