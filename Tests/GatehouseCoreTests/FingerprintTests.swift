import GatehouseCore
import Testing

@Suite struct FingerprintTests {

    /// Known SHA-256 digests (FIPS 180-2 and `printf %s TEXT | sha256sum`).
    static let vectors: [(text: String, sha256: String)] = [
        ("abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"),
        ("", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
        ("The quick brown fox jumps over the lazy dog", "d7a8fbb307d7809469ca9abcb0082e4f8d5651e46d3cdb762d02d0bf37c9e592"),
        ("sk-ant-api03-test", "9ef01c8966f7f3defa6d7ae1380cb6e6433a6fd2222ff2c5338620e576923e9b"),
        ("ключ-🔑", "817281acd7012441f865e3ae0c0535f31fc058cbc14c894929b2086588ede9f3"),
    ]

    @Test(arguments: vectors)
    func matchesTheRealSHA256(_ text: String, _ sha256: String) {
        #expect(Fingerprint.sha256Hex(text) == sha256)
        #expect(Fingerprint.sha256Hex(bytes: Array(text.utf8)) == sha256)
        #expect(Fingerprint.of(text) == String(sha256.prefix(8)))
    }

    @Test func abcHasTheKnownFingerprint() {
        #expect(Fingerprint.of("abc") == "ba7816bf")
    }

    private static func isLowercaseHex(_ text: String) -> Bool {
        text.unicodeScalars.allSatisfy { ("0"..."9").contains($0) || ("a"..."f").contains($0) }
    }

    @Test func isEightLowercaseHexDigits() {
        var rng = SplitMix64Generator(seed: 0x6761_7465_686F_7573)
        for length in 0..<200 {
            let bytes = (0..<length).map { _ in UInt8.random(in: 0x21...0x7E, using: &rng) }
            let secret = String(decoding: bytes, as: UTF8.self)
            let fp = Fingerprint.of(secret)
            #expect(fp.count == 8)
            #expect(fp.utf8.count == 8)
            #expect(Self.isLowercaseHex(fp), "\(fp)")
            let full = Fingerprint.sha256Hex(secret)
            #expect(full.count == 64)
            #expect(Self.isLowercaseHex(full))
            #expect(full.hasPrefix(fp))
        }
    }

    @Test func similarSecretsDiffer() {
        let secrets = [
            "sk-ant-api03-AAAA", "sk-ant-api03-AAAB", "sk-ant-api03-AAAA ", " sk-ant-api03-AAAA",
            "sk-ant-api03-aaaa", "sk-ant-api03-AAAA\n", "sk-ant-api03-AAA", "sk-ant-api03-AAAAA",
        ]
        let fingerprints = secrets.map(Fingerprint.of)
        #expect(Set(fingerprints).count == secrets.count)
    }

    @Test func manyRandomSecretsHaveDistinctFingerprints() {
        var rng = SplitMix64Generator(seed: 42)
        var seen: [String: String] = [:]
        for _ in 0..<2000 {
            let secret = "sk-" + String(rng.next(), radix: 36) + String(rng.next(), radix: 36)
            let fp = Fingerprint.of(secret)
            if let other = seen[fp], other != secret {
                Issue.record("\(secret) and \(other) share fingerprint \(fp)")
            }
            seen[fp] = secret
        }
        #expect(seen.count == 2000)
    }

    @Test func isStable() {
        #expect(Fingerprint.of("sk-ant-api03-test") == Fingerprint.of("sk-ant-api03-test"))
        #expect(Fingerprint.of("sk-ant-api03-test") == "9ef01c89")
    }

    // MARK: - Profiles

    static let resolver = StaticSecretResolver(
        environment: ["OPENAI_API_KEY": "sk-proj-envSecretValue1234"],
        files: ["/run/secrets/groq": "gsk_fileSecretValue5678"])

    struct ProfileCase: Sendable, CustomTestStringConvertible {
        var label: String
        var credential: Credential
        /// The secret the fingerprint is taken of, or nil when there should be none.
        var secret: String?
        var testDescription: String { label }
    }

    static let profileCases: [ProfileCase] = [
        ProfileCase(label: "inline key", credential: .apiKey(APIKeyCredential(key: "sk-ant-api03-inlineSecret")),
                    secret: "sk-ant-api03-inlineSecret"),
        ProfileCase(label: "env key", credential: .apiKey(APIKeyCredential(keyRef: SecretRef(source: .env, id: "OPENAI_API_KEY"))),
                    secret: "sk-proj-envSecretValue1234"),
        ProfileCase(label: "file key", credential: .apiKey(APIKeyCredential(keyRef: SecretRef(source: .file, id: "/run/secrets/groq"))),
                    secret: "gsk_fileSecretValue5678"),
        ProfileCase(label: "unresolved key", credential: .apiKey(APIKeyCredential(keyRef: SecretRef(source: .env, id: "NOPE_KEY"))),
                    secret: nil),
        ProfileCase(label: "empty key", credential: .apiKey(APIKeyCredential(key: "")), secret: nil),
        ProfileCase(label: "token", credential: .token(TokenCredential(token: "xai-bearer-token-value", expires: 1)),
                    secret: "xai-bearer-token-value"),
        ProfileCase(label: "oauth access", credential: .oauth(OAuthCredential(access: "oauth-access-value", refresh: "oauth-refresh-value")),
                    secret: "oauth-access-value"),
        ProfileCase(label: "oauth refresh only", credential: .oauth(OAuthCredential(access: "", refresh: "oauth-refresh-value")),
                    secret: "oauth-refresh-value"),
        ProfileCase(label: "oauth with no tokens", credential: .oauth(OAuthCredential(email: "a@example.com")), secret: nil),
    ]

    @Test(arguments: profileCases)
    func profileFingerprintIsOfTheSecretAndNeverTheSecret(_ c: ProfileCase) throws {
        let profile = AuthProfile(id: try ProfileID(parsing: "openai:test"), credential: c.credential)
        let fp = profile.fingerprint(using: Self.resolver)
        guard let secret = c.secret else {
            #expect(fp == nil)
            return
        }
        let value = try #require(fp)
        #expect(value == Fingerprint.of(secret))
        #expect(value.count == 8)
        #expect(!value.contains(secret))
        #expect(!secret.contains(value))
        // Not the reference either: it is the resolved value that is fingerprinted.
        if case .apiKey(let key) = c.credential, let ref = key.keyRef {
            #expect(value != Fingerprint.of(ref.id))
        }
    }
}
