import GatehouseCore
import Testing

@Suite struct CredentialDecodingTests {

    private static func path(_ key: String) -> String { "profiles[\"\(key)\"]" }

    private static func decode(_ key: String, _ text: String) throws -> AuthProfile {
        try AuthProfile(key: key, json: try JSONValue.parse(text), path: path(key))
    }

    private static func decodingError(_ key: String, _ json: JSONValue) -> JSONFieldError? {
        do {
            _ = try AuthProfile(key: key, json: json, path: path(key))
            return nil
        } catch {
            return error
        }
    }

    // MARK: - Every kind, and back

    struct KindCase: Sendable, CustomTestStringConvertible {
        var label: String
        var key: String
        var json: String
        var credential: Credential
        var testDescription: String { label }
    }

    static let kindCases: [KindCase] = [
        KindCase(
            label: "api_key inline", key: "anthropic:default",
            json: #"{"type":"api_key","provider":"anthropic","key":"sk-ant-api03-AbC123xyz"}"#,
            credential: .apiKey(APIKeyCredential(key: "sk-ant-api03-AbC123xyz"))),
        KindCase(
            label: "api_key keyRef env", key: "anthropic:ci",
            json: #"{"type":"api_key","provider":"anthropic","keyRef":{"source":"env","id":"ANTHROPIC_API_KEY"}}"#,
            credential: .apiKey(APIKeyCredential(keyRef: SecretRef(source: .env, id: "ANTHROPIC_API_KEY")))),
        KindCase(
            label: "api_key keyRef file", key: "openai:work@example.com",
            json: #"{"type":"api_key","provider":"openai","keyRef":{"source":"file","id":"/run/secrets/openai"}}"#,
            credential: .apiKey(APIKeyCredential(keyRef: SecretRef(source: .file, id: "/run/secrets/openai")))),
        KindCase(
            label: "api_key with key and keyRef", key: "groq:both",
            json: #"{"type":"api_key","provider":"groq","key":"gsk_live_1","keyRef":{"source":"env","id":"GROQ_API_KEY"}}"#,
            credential: .apiKey(APIKeyCredential(key: "gsk_live_1", keyRef: SecretRef(source: .env, id: "GROQ_API_KEY")))),
        KindCase(
            label: "token inline with expires", key: "xai:bot",
            json: #"{"type":"token","provider":"xai","token":"xai-tok-9f8e7d","expires":1767225600000}"#,
            credential: .token(TokenCredential(token: "xai-tok-9f8e7d", expires: 1_767_225_600_000))),
        KindCase(
            label: "token without expires", key: "mistral:static",
            json: #"{"type":"token","provider":"mistral","token":"mst-123"}"#,
            credential: .token(TokenCredential(token: "mst-123"))),
        KindCase(
            label: "token tokenRef file", key: "openrouter:shared",
            json: #"{"type":"token","provider":"openrouter","tokenRef":{"source":"file","id":"secrets/openrouter.token"},"expires":1750000000000}"#,
            credential: .token(TokenCredential(
                tokenRef: SecretRef(source: .file, id: "secrets/openrouter.token"), expires: 1_750_000_000_000))),
        KindCase(
            label: "token tokenRef env", key: "vllm:lab",
            json: #"{"type":"token","provider":"vllm","tokenRef":{"source":"env","id":"VLLM_TOKEN"}}"#,
            credential: .token(TokenCredential(tokenRef: SecretRef(source: .env, id: "VLLM_TOKEN")))),
        KindCase(
            label: "oauth with every field", key: "openai:work@example.com",
            json: #"""
                {"type":"oauth","provider":"openai","access":"eyJhbGciOiJSUzI1NiJ9.payload.sig","refresh":"rt_4f3e2d1c",
                 "expires":1750003600000,"email":"work@example.com","accountId":"acct_01HZX","clientId":"app_EMoamEEZ73f0CkXaXp7hrann"}
                """#,
            credential: .oauth(OAuthCredential(
                access: "eyJhbGciOiJSUzI1NiJ9.payload.sig", refresh: "rt_4f3e2d1c", expires: 1_750_003_600_000,
                email: "work@example.com", accountId: "acct_01HZX", clientId: "app_EMoamEEZ73f0CkXaXp7hrann"))),
        KindCase(
            label: "oauth refresh only", key: "anthropic:max",
            json: #"{"type":"oauth","provider":"anthropic","refresh":"sk-ant-ort01-zzz"}"#,
            credential: .oauth(OAuthCredential(refresh: "sk-ant-ort01-zzz"))),
    ]

    @Test(arguments: kindCases)
    func decodesEveryKindAndWritesItBack(_ c: KindCase) throws {
        let input = try JSONValue.parse(c.json)
        let profile = try AuthProfile(key: c.key, json: input, path: Self.path(c.key))
        #expect(profile.id == (try ProfileID(parsing: c.key)))
        #expect(profile.credential == c.credential)
        #expect(profile.type == c.credential.type)
        #expect(profile.provider == profile.id.provider)
        #expect(profile.extra.isEmpty)
        #expect(profile.json == input)
        // Through text and back gives the same profile.
        let reparsed = try JSONValue.parse(profile.json.serializedString())
        #expect(try AuthProfile(key: c.key, json: reparsed, path: Self.path(c.key)) == profile)
    }

    @Test func credentialAccessorsReportExpiryAndEmail() throws {
        let oauth = try Self.decode(
            "openai:work@example.com",
            #"{"type":"oauth","provider":"openai","access":"a","expires":1750003600000,"email":"work@example.com"}"#)
        #expect(oauth.type == .oauth)
        #expect(oauth.credential.expires == 1_750_003_600_000)
        #expect(oauth.credential.email == "work@example.com")

        let token = try Self.decode("xai:bot", #"{"type":"token","provider":"xai","token":"t","expires":42}"#)
        #expect(token.type == .token)
        #expect(token.credential.expires == 42)
        #expect(token.credential.email == nil)

        let key = try Self.decode("anthropic:default", #"{"type":"api_key","provider":"anthropic","key":"k","expires":42}"#)
        #expect(key.type == .apiKey)
        #expect(key.credential.expires == nil)
        // `expires` means nothing to an API key: it is kept as an unknown field, not lost.
        #expect(key.extra == ["expires": .int(42)])
    }

    @Test(arguments: CredentialType.allCases)
    func credentialTypeNamesMatchTheFileFormat(_ type: CredentialType) {
        let expected: [CredentialType: String] = [.apiKey: "api_key", .token: "token", .oauth: "oauth"]
        #expect(type.rawValue == expected[type])
    }

    // MARK: - Unknown fields

    @Test func unknownProfileFieldsSurviveTheRoundTripExactly() throws {
        let text = #"""
            {
              "type": "oauth", "provider": "openai",
              "access": "at-1", "refresh": "rt-1", "expires": 1750003600000,
              "label": "Work laptop",
              "disabled": false,
              "priority": 2.5,
              "createdAt": 1700000000000,
              "note": null,
              "meta": { "importedFrom": "other-gateway", "tags": ["a", 1, null, { "deep": true }] }
            }
            """#
        let input = try JSONValue.parse(text)
        let profile = try AuthProfile(key: "openai:laptop", json: input, path: Self.path("openai:laptop"))
        #expect(Set(profile.extra.keys) == ["label", "disabled", "priority", "createdAt", "note", "meta"])
        #expect(profile.extra["meta"] == input["meta"])
        #expect(profile.extra["note"] == .null)
        #expect(profile.json == input)
        #expect(try JSONValue.parse(profile.json.serializedString(pretty: false)) == input)

        // Changing the credential keeps the unknown fields.
        var refreshed = profile
        refreshed.credential = .oauth(OAuthCredential(access: "at-2", refresh: "rt-2", expires: 1_750_007_200_000))
        let out = refreshed.json
        #expect(out["label"] == .string("Work laptop"))
        #expect(out["meta"] == input["meta"])
        #expect(out["access"] == .string("at-2"))
        #expect(out["expires"] == .int(1_750_007_200_000))
    }

    @Test func fieldsOfAnotherKindAreKeptAsUnknown() throws {
        // A token profile that also carries a stale `key` (say, from an older tool) keeps it on rewrite.
        let input = try JSONValue.parse(#"{"type":"token","provider":"xai","token":"t-1","key":"old-key"}"#)
        let profile = try AuthProfile(key: "xai:bot", json: input, path: "p")
        #expect(profile.credential == .token(TokenCredential(token: "t-1")))
        #expect(profile.extra == ["key": .string("old-key")])
        #expect(profile.json == input)
    }

    /// DESIGN.md section 3: "Unknown fields in any file are kept on rewrite." A `keyRef`/`tokenRef`
    /// object is read into `SecretRef`, which has no place for other members, so they are dropped.
    @Test func unknownFieldsInsideASecretRefSurviveTheRoundTrip() throws {
        let input = try JSONValue.parse(
            #"{"type":"api_key","provider":"anthropic","keyRef":{"source":"env","id":"ANTHROPIC_API_KEY","provider":"default"}}"#)
        let profile = try AuthProfile(key: "anthropic:ci", json: input, path: Self.path("anthropic:ci"))
        #expect(profile.json == input)
    }

    // MARK: - Errors

    struct ErrorCase: Sendable, CustomTestStringConvertible {
        var label: String
        var key: String
        var json: String
        var field: String
        var reasonFragment: String
        var testDescription: String { label }
    }

    static let errorCases: [ErrorCase] = [
        ErrorCase(
            label: "unknown type", key: "a:b", json: #"{"type":"password","provider":"a","key":"x"}"#,
            field: #"profiles["a:b"].type"#, reasonFragment: #"unknown type "password""#),
        ErrorCase(
            label: "missing type", key: "anthropic:default", json: #"{"provider":"anthropic","key":"x"}"#,
            field: #"profiles["anthropic:default"].type"#, reasonFragment: "missing"),
        ErrorCase(
            label: "null type", key: "anthropic:default", json: #"{"type":null,"provider":"anthropic","key":"x"}"#,
            field: #"profiles["anthropic:default"].type"#, reasonFragment: "missing"),
        ErrorCase(
            label: "type of the wrong kind", key: "a:b", json: #"{"type":1,"provider":"a"}"#,
            field: #"profiles["a:b"].type"#, reasonFragment: "expected a string, found integer"),
        ErrorCase(
            label: "missing provider", key: "anthropic:default", json: #"{"type":"api_key","key":"x"}"#,
            field: #"profiles["anthropic:default"].provider"#, reasonFragment: #"missing; expected "anthropic""#),
        ErrorCase(
            label: "provider not matching the id", key: "anthropic:default",
            json: #"{"type":"api_key","provider":"openai","key":"x"}"#,
            field: #"profiles["anthropic:default"].provider"#,
            reasonFragment: #""openai" does not match the id's provider "anthropic""#),
        ErrorCase(
            label: "keyRef with a bad source", key: "a:b",
            json: #"{"type":"api_key","provider":"a","keyRef":{"source":"vault","id":"kv/anthropic"}}"#,
            field: #"profiles["a:b"].keyRef.source"#, reasonFragment: #"must be "env" or "file""#),
        ErrorCase(
            label: "keyRef without a source", key: "a:b",
            json: #"{"type":"api_key","provider":"a","keyRef":{"id":"ANTHROPIC_API_KEY"}}"#,
            field: #"profiles["a:b"].keyRef.source"#, reasonFragment: "must be"),
        ErrorCase(
            label: "keyRef with an empty id", key: "a:b",
            json: #"{"type":"api_key","provider":"a","keyRef":{"source":"env","id":""}}"#,
            field: #"profiles["a:b"].keyRef.id"#, reasonFragment: "non-empty string"),
        ErrorCase(
            label: "keyRef with a numeric id", key: "a:b",
            json: #"{"type":"api_key","provider":"a","keyRef":{"source":"file","id":7}}"#,
            field: #"profiles["a:b"].keyRef.id"#, reasonFragment: "non-empty string"),
        ErrorCase(
            label: "keyRef that is a string", key: "a:b",
            json: #"{"type":"api_key","provider":"a","keyRef":"ANTHROPIC_API_KEY"}"#,
            field: #"profiles["a:b"].keyRef"#, reasonFragment: "expected an object like"),
        ErrorCase(
            label: "tokenRef with a bad source", key: "xai:bot",
            json: #"{"type":"token","provider":"xai","tokenRef":{"source":"keychain","id":"xai"}}"#,
            field: #"profiles["xai:bot"].tokenRef.source"#, reasonFragment: "must be"),
        ErrorCase(
            label: "key of the wrong type", key: "anthropic:default",
            json: #"{"type":"api_key","provider":"anthropic","key":12345}"#,
            field: #"profiles["anthropic:default"].key"#, reasonFragment: "expected a string, found integer"),
        ErrorCase(
            label: "token of the wrong type", key: "xai:bot",
            json: #"{"type":"token","provider":"xai","token":["t"]}"#,
            field: #"profiles["xai:bot"].token"#, reasonFragment: "expected a string, found array"),
        ErrorCase(
            label: "expires as a string", key: "xai:bot",
            json: #"{"type":"token","provider":"xai","token":"t","expires":"2026-01-01"}"#,
            field: #"profiles["xai:bot"].expires"#, reasonFragment: "expected an integer, found string"),
        ErrorCase(
            label: "expires with a fraction", key: "openai:o",
            json: #"{"type":"oauth","provider":"openai","access":"a","expires":1750000000000.5}"#,
            field: #"profiles["openai:o"].expires"#, reasonFragment: "expected an integer, found number"),
        ErrorCase(
            label: "oauth email of the wrong type", key: "openai:o",
            json: #"{"type":"oauth","provider":"openai","access":"a","email":true}"#,
            field: #"profiles["openai:o"].email"#, reasonFragment: "expected a string, found boolean"),
        ErrorCase(
            label: "oauth refresh of the wrong type", key: "openai:o",
            json: #"{"type":"oauth","provider":"openai","refresh":{"value":"r"}}"#,
            field: #"profiles["openai:o"].refresh"#, reasonFragment: "expected a string, found object"),
        ErrorCase(
            label: "profile that is not an object", key: "anthropic:default", json: #"["api_key"]"#,
            field: #"profiles["anthropic:default"]"#, reasonFragment: "expected an object, found array"),
        ErrorCase(
            label: "invalid profile id", key: "Anthropic:default",
            json: #"{"type":"api_key","provider":"anthropic","key":"x"}"#,
            field: #"profiles["Anthropic:default"]"#, reasonFragment: "invalid profile id 'Anthropic:default'"),
        ErrorCase(
            label: "profile id without a name", key: "anthropic",
            json: #"{"type":"api_key","provider":"anthropic","key":"x"}"#,
            field: #"profiles["anthropic"]"#, reasonFragment: "provider:name"),
    ]

    @Test(arguments: errorCases)
    func errorsNameTheField(_ c: ErrorCase) throws {
        let error = try #require(Self.decodingError(c.key, try JSONValue.parse(c.json)))
        #expect(error.field == c.field)
        #expect(error.reason.contains(c.reasonFragment), "reason was: \(error.reason)")
        #expect(error.description == "\(c.field): \(error.reason)")
    }

    @Test func nullFieldsCountAsAbsent() throws {
        let profile = try Self.decode(
            "xai:bot", #"{"type":"token","provider":"xai","token":"t","tokenRef":null,"expires":null}"#)
        #expect(profile.credential == .token(TokenCredential(token: "t")))
    }

    // MARK: - SecretRef

    @Test(arguments: SecretRef.Source.allCases)
    func secretRefRoundTrips(_ source: SecretRef.Source) throws {
        let ref = SecretRef(source: source, id: source == .env ? "OPENAI_API_KEY" : "/run/secrets/openai key")
        #expect(try SecretRef(json: ref.json, field: "x") == ref)
        #expect(ref.json == .object(["source": .string(source.rawValue), "id": .string(ref.id)]))
        #expect(ref.description == "\(source.rawValue):\(ref.id)")
    }
}
