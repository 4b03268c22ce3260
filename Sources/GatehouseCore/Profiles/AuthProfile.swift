/// One credential of one provider, as stored under its id in `auth-profiles.json`.
public struct AuthProfile: Sendable, Hashable, Identifiable {
    public var id: ProfileID
    public var credential: Credential
    /// Fields this version does not know; written back unchanged.
    public var extra: [String: JSONValue]

    public init(id: ProfileID, credential: Credential, extra: [String: JSONValue] = [:]) {
        self.id = id
        self.credential = credential
        self.extra = extra
    }

    /// The provider of this profile.
    public var provider: String { id.provider }
    /// The kind of credential.
    public var type: CredentialType { credential.type }

    /// The name reserved for the read-only profile made from a provider's environment variable.
    public static let environmentProfileName = "env"

    /// The read-only profile `<provider>:env` for a provider's API key in the environment.
    public static func environment(provider: String, variable: String) -> AuthProfile? {
        guard let id = try? ProfileID(provider: provider, name: environmentProfileName) else { return nil }
        return AuthProfile(id: id, credential: .apiKey(APIKeyCredential(keyRef: SecretRef(source: .env, id: variable))))
    }

    /// The read-only `<provider>:env` profiles of the providers whose key is in the environment (the
    /// first of a provider's `envKeys` that is set), in provider order.
    public static func environmentProfiles(
        of providers: some Collection<ProviderDefinition>, using resolver: some SecretResolver
    ) -> [AuthProfile] {
        providers.sorted { $0.id < $1.id }.compactMap { provider in
            guard let variable = provider.envKeys.first(where: { resolver.environmentValue($0) != nil }) else { return nil }
            return environment(provider: provider.id, variable: variable)
        }
    }

    /// Whether this is the read-only environment profile of its provider.
    public var isEnvironmentProfile: Bool { id.name == Self.environmentProfileName }
}

// MARK: - JSON form

extension AuthProfile {
    /// Reads a profile stored under `key`.
    /// - Throws: `JSONFieldError` naming the field that is missing or wrong.
    public init(key: String, json: JSONValue, path: String) throws(JSONFieldError) {
        let id: ProfileID
        do throws(ProfileIDError) {
            id = try ProfileID(parsing: key)
        } catch {
            throw JSONFieldError(field: path, reason: error.description)
        }
        var reader = try JSONFieldReader(json, path: path)
        guard let typeText = try reader.string("type") else {
            throw JSONFieldError(field: reader.fieldPath("type"), reason: "missing; expected \"api_key\", \"token\" or \"oauth\"")
        }
        guard let type = CredentialType(rawValue: typeText) else {
            throw JSONFieldError(field: reader.fieldPath("type"), reason: "unknown type \"\(typeText)\"; expected \"api_key\", \"token\" or \"oauth\"")
        }
        guard let provider = try reader.string("provider") else {
            throw JSONFieldError(field: reader.fieldPath("provider"), reason: "missing; expected \"\(id.provider)\"")
        }
        guard provider == id.provider else {
            throw JSONFieldError(field: reader.fieldPath("provider"), reason: "\"\(provider)\" does not match the id's provider \"\(id.provider)\"")
        }
        let credential: Credential
        switch type {
        case .apiKey:
            credential = .apiKey(APIKeyCredential(
                key: try reader.string("key"),
                keyRef: try reader.value("keyRef").map { v throws(JSONFieldError) in try SecretRef(json: v, field: reader.fieldPath("keyRef")) }))
        case .token:
            credential = .token(TokenCredential(
                token: try reader.string("token"),
                tokenRef: try reader.value("tokenRef").map { v throws(JSONFieldError) in try SecretRef(json: v, field: reader.fieldPath("tokenRef")) },
                expires: try reader.int("expires")))
        case .oauth:
            credential = .oauth(OAuthCredential(
                access: try reader.string("access"), refresh: try reader.string("refresh"),
                expires: try reader.int("expires"), email: try reader.string("email"),
                accountId: try reader.string("accountId"), clientId: try reader.string("clientId")))
        }
        self.init(id: id, credential: credential, extra: reader.unread)
    }

    /// The JSON form, with unknown fields kept.
    public var json: JSONValue {
        var object = extra
        object["type"] = .string(type.rawValue)
        object["provider"] = .string(provider)
        func set(_ key: String, _ value: JSONValue?) { object[key] = value }
        switch credential {
        case .apiKey(let c):
            set("key", c.key.map(JSONValue.string))
            set("keyRef", c.keyRef?.json)
        case .token(let c):
            set("token", c.token.map(JSONValue.string))
            set("tokenRef", c.tokenRef?.json)
            set("expires", c.expires.map(JSONValue.int))
        case .oauth(let c):
            set("access", c.access.map(JSONValue.string))
            set("refresh", c.refresh.map(JSONValue.string))
            set("expires", c.expires.map(JSONValue.int))
            set("email", c.email.map(JSONValue.string))
            set("accountId", c.accountId.map(JSONValue.string))
            set("clientId", c.clientId.map(JSONValue.string))
        }
        return .object(object)
    }
}
