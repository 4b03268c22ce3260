import GatehouseCore
import Testing

@Suite struct EligibilityTests {

    /// 2025-06-15T15:06:40Z: a fixed "now" for every case.
    static let now: Int64 = 1_750_000_000_000
    static let hour: Int64 = 3_600_000

    static let resolver = StaticSecretResolver(
        environment: [
            "ANTHROPIC_API_KEY": "sk-ant-from-env",
            "XAI_TOKEN": "xai-token-from-env",
            "EMPTY_VAR": "",
        ],
        files: [
            "/run/secrets/openai": "sk-openai-from-file",
            "secrets/xai.token": "xai-token-from-file",
            "/run/secrets/empty": "",
        ])

    static func profile(_ id: String, _ credential: Credential) -> AuthProfile {
        // The ids below are all valid; a bad one is a mistake in this table.
        AuthProfile(id: try! ProfileID(parsing: id), credential: credential)
    }

    struct Case: Sendable, CustomTestStringConvertible {
        var label: String
        var profile: AuthProfile
        var state: CredentialState
        var eligible: Bool
        var secret: SecretLookup
        var testDescription: String { label }
    }

    static let envRef = SecretRef(source: .env, id: "ANTHROPIC_API_KEY")
    static let unsetEnvRef = SecretRef(source: .env, id: "ANTHROPIC_API_KEY_UNSET")
    static let emptyEnvRef = SecretRef(source: .env, id: "EMPTY_VAR")
    static let fileRef = SecretRef(source: .file, id: "/run/secrets/openai")
    static let missingFileRef = SecretRef(source: .file, id: "/run/secrets/nope")
    static let emptyFileRef = SecretRef(source: .file, id: "/run/secrets/empty")

    static let cases: [Case] = [
        // API keys
        Case(label: "api key inline", profile: profile("anthropic:default", .apiKey(APIKeyCredential(key: "sk-ant-inline"))),
             state: .ok, eligible: true, secret: .value("sk-ant-inline")),
        Case(label: "api key empty", profile: profile("anthropic:default", .apiKey(APIKeyCredential(key: ""))),
             state: .missingCredential, eligible: false, secret: .missing),
        Case(label: "api key with neither key nor ref", profile: profile("anthropic:default", .apiKey(APIKeyCredential())),
             state: .missingCredential, eligible: false, secret: .missing),
        Case(label: "api key env ref resolved", profile: profile("anthropic:ci", .apiKey(APIKeyCredential(keyRef: envRef))),
             state: .ok, eligible: true, secret: .value("sk-ant-from-env")),
        Case(label: "api key env ref unset", profile: profile("anthropic:ci", .apiKey(APIKeyCredential(keyRef: unsetEnvRef))),
             state: .unresolvedRef, eligible: false, secret: .unresolved(unsetEnvRef)),
        Case(label: "api key env ref set but empty", profile: profile("anthropic:ci", .apiKey(APIKeyCredential(keyRef: emptyEnvRef))),
             state: .unresolvedRef, eligible: false, secret: .unresolved(emptyEnvRef)),
        Case(label: "api key file ref resolved", profile: profile("openai:file", .apiKey(APIKeyCredential(keyRef: fileRef))),
             state: .ok, eligible: true, secret: .value("sk-openai-from-file")),
        Case(label: "api key file ref unreadable", profile: profile("openai:file", .apiKey(APIKeyCredential(keyRef: missingFileRef))),
             state: .unresolvedRef, eligible: false, secret: .unresolved(missingFileRef)),
        Case(label: "api key file ref empty", profile: profile("openai:file", .apiKey(APIKeyCredential(keyRef: emptyFileRef))),
             state: .unresolvedRef, eligible: false, secret: .unresolved(emptyFileRef)),
        Case(label: "api key empty inline falls back to the ref",
             profile: profile("anthropic:ci", .apiKey(APIKeyCredential(key: "", keyRef: envRef))),
             state: .ok, eligible: true, secret: .value("sk-ant-from-env")),
        Case(label: "api key inline wins over the ref",
             profile: profile("anthropic:ci", .apiKey(APIKeyCredential(key: "sk-inline", keyRef: unsetEnvRef))),
             state: .ok, eligible: true, secret: .value("sk-inline")),

        // Static tokens
        Case(label: "token without expiry", profile: profile("xai:bot", .token(TokenCredential(token: "xai-t"))),
             state: .ok, eligible: true, secret: .value("xai-t")),
        Case(label: "token expiring in a millisecond",
             profile: profile("xai:bot", .token(TokenCredential(token: "xai-t", expires: now + 1))),
             state: .ok, eligible: true, secret: .value("xai-t")),
        Case(label: "token expiring right now", profile: profile("xai:bot", .token(TokenCredential(token: "xai-t", expires: now))),
             state: .expired, eligible: false, secret: .value("xai-t")),
        Case(label: "token expired an hour ago",
             profile: profile("xai:bot", .token(TokenCredential(token: "xai-t", expires: now - hour))),
             state: .expired, eligible: false, secret: .value("xai-t")),
        Case(label: "token env ref resolved",
             profile: profile("xai:env-token", .token(TokenCredential(tokenRef: SecretRef(source: .env, id: "XAI_TOKEN"), expires: now + hour))),
             state: .ok, eligible: true, secret: .value("xai-token-from-env")),
        Case(label: "token env ref resolved but expired",
             profile: profile("xai:env-token", .token(TokenCredential(tokenRef: SecretRef(source: .env, id: "XAI_TOKEN"), expires: now - 1))),
             state: .expired, eligible: false, secret: .value("xai-token-from-env")),
        Case(label: "token file ref resolved",
             profile: profile("xai:file-token", .token(TokenCredential(tokenRef: SecretRef(source: .file, id: "secrets/xai.token")))),
             state: .ok, eligible: true, secret: .value("xai-token-from-file")),
        Case(label: "token file ref unreadable",
             profile: profile("xai:file-token", .token(TokenCredential(tokenRef: missingFileRef, expires: now + hour))),
             state: .unresolvedRef, eligible: false, secret: .unresolved(missingFileRef)),
        Case(label: "token empty", profile: profile("xai:bot", .token(TokenCredential(token: ""))),
             state: .missingCredential, eligible: false, secret: .missing),

        // OAuth
        Case(label: "oauth fresh",
             profile: profile("openai:work@example.com", .oauth(OAuthCredential(access: "at", refresh: "rt", expires: now + hour))),
             state: .ok, eligible: true, secret: .value("at")),
        Case(label: "oauth without expiry", profile: profile("openai:o", .oauth(OAuthCredential(access: "at"))),
             state: .ok, eligible: true, secret: .value("at")),
        Case(label: "oauth expired with a refresh token",
             profile: profile("openai:o", .oauth(OAuthCredential(access: "at", refresh: "rt", expires: now - hour))),
             state: .expired, eligible: true, secret: .value("at")),
        Case(label: "oauth expiring right now with a refresh token",
             profile: profile("openai:o", .oauth(OAuthCredential(access: "at", refresh: "rt", expires: now))),
             state: .expired, eligible: true, secret: .value("at")),
        Case(label: "oauth expired without a refresh token",
             profile: profile("openai:o", .oauth(OAuthCredential(access: "at", expires: now - hour))),
             state: .expired, eligible: false, secret: .value("at")),
        Case(label: "oauth expired with an empty refresh token",
             profile: profile("openai:o", .oauth(OAuthCredential(access: "at", refresh: "", expires: now - 1))),
             state: .expired, eligible: false, secret: .value("at")),
        Case(label: "oauth with a refresh token only", profile: profile("anthropic:max", .oauth(OAuthCredential(refresh: "rt"))),
             state: .expired, eligible: true, secret: .missing),
        Case(label: "oauth with neither token", profile: profile("anthropic:max", .oauth(OAuthCredential(email: "me@example.com"))),
             state: .missingCredential, eligible: false, secret: .missing),
        Case(label: "oauth with two empty tokens",
             profile: profile("anthropic:max", .oauth(OAuthCredential(access: "", refresh: "", expires: now + hour))),
             state: .missingCredential, eligible: false, secret: .missing),
    ]

    @Test(arguments: cases)
    func credentialStateAndEligibility(_ c: Case) {
        #expect(c.profile.credentialState(now: Self.now, using: Self.resolver) == c.state)
        #expect(c.profile.isEligible(now: Self.now, using: Self.resolver) == c.eligible)
        #expect(c.profile.secret(using: Self.resolver) == c.secret)
    }

    @Test func expiryIsJudgedAtTheInjectedTime() throws {
        let token = Self.profile("xai:bot", .token(TokenCredential(token: "t", expires: Self.now)))
        #expect(token.isEligible(now: Self.now - 1, using: Self.resolver))
        #expect(!token.isEligible(now: Self.now, using: Self.resolver))
        #expect(!token.isEligible(now: Self.now + 1, using: Self.resolver))

        let oauth = Self.profile("openai:o", .oauth(OAuthCredential(access: "at", expires: Self.now)))
        #expect(oauth.credentialState(now: Self.now - 1, using: Self.resolver) == .ok)
        #expect(oauth.credentialState(now: Self.now, using: Self.resolver) == .expired)
    }

    @Test func referencesResolveThroughTheGivenResolver() {
        let profile = Self.profile("anthropic:ci", .apiKey(APIKeyCredential(keyRef: Self.envRef)))
        let empty = StaticSecretResolver()
        #expect(profile.credentialState(now: Self.now, using: empty) == .unresolvedRef)
        #expect(profile.credentialState(now: Self.now, using: Self.resolver) == .ok)
        let other = StaticSecretResolver(environment: ["ANTHROPIC_API_KEY": "sk-other"])
        #expect(profile.secret(using: other) == .value("sk-other"))
    }

    @Test func staticResolverTreatsEmptyValuesAsUnset() {
        #expect(Self.resolver.environmentValue("ANTHROPIC_API_KEY") == "sk-ant-from-env")
        #expect(Self.resolver.environmentValue("EMPTY_VAR") == nil)
        #expect(Self.resolver.environmentValue("NOT_THERE") == nil)
        #expect(Self.resolver.resolve(Self.fileRef) == "sk-openai-from-file")
        #expect(Self.resolver.resolve(Self.emptyFileRef) == nil)
        // An env ref never reads files and a file ref never reads the environment.
        #expect(Self.resolver.resolve(SecretRef(source: .env, id: "/run/secrets/openai")) == nil)
        #expect(Self.resolver.resolve(SecretRef(source: .file, id: "ANTHROPIC_API_KEY")) == nil)
    }

    @Test func credentialStateRawValues() {
        #expect(CredentialState.allCases.map(\.rawValue) == ["ok", "expired", "missing_credential", "unresolved_ref"])
    }

    @Test func secretLookupValue() {
        #expect(SecretLookup.value("s").value == "s")
        #expect(SecretLookup.missing.value == nil)
        #expect(SecretLookup.unresolved(Self.envRef).value == nil)
    }

    // MARK: - The environment profile

    @Test func environmentProfileIsProviderEnvAndReadsTheEnvironment() throws {
        let profile = try #require(AuthProfile.environment(provider: "anthropic", variable: "ANTHROPIC_API_KEY"))
        #expect(profile.id.description == "anthropic:env")
        #expect(profile.id == (try ProfileID(parsing: "anthropic:env")))
        #expect(profile.provider == "anthropic")
        #expect(profile.isEnvironmentProfile)
        #expect(profile.type == .apiKey)
        #expect(profile.credential == .apiKey(APIKeyCredential(keyRef: SecretRef(source: .env, id: "ANTHROPIC_API_KEY"))))
        #expect(profile.extra.isEmpty)

        #expect(profile.credentialState(now: Self.now, using: Self.resolver) == .ok)
        #expect(profile.isEligible(now: Self.now, using: Self.resolver))
        #expect(profile.secret(using: Self.resolver) == .value("sk-ant-from-env"))

        let unset = StaticSecretResolver(environment: ["OPENAI_API_KEY": "sk-openai"])
        #expect(profile.credentialState(now: Self.now, using: unset) == .unresolvedRef)
        #expect(!profile.isEligible(now: Self.now, using: unset))
        #expect(profile.fingerprint(using: unset) == nil)
    }

    @Test(arguments: BuiltinProviders.all.values.filter { !$0.envKeys.isEmpty }.sorted { $0.id < $1.id })
    func everyBuiltinProviderHasAnEnvironmentProfile(_ provider: ProviderDefinition) throws {
        let variable = try #require(provider.envKeys.first)
        let profile = try #require(AuthProfile.environment(provider: provider.id, variable: variable))
        #expect(profile.id.description == "\(provider.id):env")
        let resolver = StaticSecretResolver(environment: [variable: "secret-for-\(provider.id)"])
        #expect(profile.secret(using: resolver) == .value("secret-for-\(provider.id)"))
        #expect(profile.isEligible(now: Self.now, using: resolver))
    }

    @Test(arguments: ["", "Anthropic", "my provider", "a:b"])
    func environmentProfileOfAnInvalidProviderIsNil(_ provider: String) {
        #expect(AuthProfile.environment(provider: provider, variable: "X") == nil)
    }

    @Test func onlyTheEnvNameMarksTheEnvironmentProfile() {
        #expect(!Self.profile("anthropic:default", .apiKey(APIKeyCredential(key: "k"))).isEnvironmentProfile)
        #expect(!Self.profile("anthropic:env2", .apiKey(APIKeyCredential(key: "k"))).isEnvironmentProfile)
        #expect(Self.profile("openai:env", .apiKey(APIKeyCredential(key: "k"))).isEnvironmentProfile)
        #expect(AuthProfile.environmentProfileName == "env")
    }
}
