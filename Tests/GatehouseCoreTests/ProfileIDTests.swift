import GatehouseCore
import Testing

@Suite struct ProfileIDTests {

    private static func parseError(_ text: String) -> ProfileIDError? {
        do {
            _ = try ProfileID(parsing: text)
            return nil
        } catch {
            return error
        }
    }

    // MARK: - Valid ids

    static let validCases: [(text: String, provider: String, name: String)] = [
        ("anthropic:default", "anthropic", "default"),
        ("openai:work@example.com", "openai", "work@example.com"),
        ("lm-studio:a.b_c-d+e", "lm-studio", "a.b_c-d+e"),
        ("openrouter:Team-Key_2", "openrouter", "Team-Key_2"),
        ("x.ai_2:0", "x.ai_2", "0"),
        ("9router:env", "9router", "env"),
        ("anthropic:first.last+tag@mail.example.org", "anthropic", "first.last+tag@mail.example.org"),
        (String(repeating: "p", count: 128) + ":" + String(repeating: "N", count: 128),
         String(repeating: "p", count: 128), String(repeating: "N", count: 128)),
    ]

    @Test(arguments: validCases)
    func parsesValidIDs(_ text: String, _ provider: String, _ name: String) throws {
        let id = try ProfileID(parsing: text)
        #expect(id.provider == provider)
        #expect(id.name == name)
        #expect(id.description == text)
        #expect(try ProfileID(parsing: id.description) == id)
        #expect(try ProfileID(provider: provider, name: name) == id)
    }

    // MARK: - Invalid ids

    static let invalidCases: [(text: String, reasonFragment: String)] = [
        ("anthropic", "a profile id is `provider:name`"),
        ("", "a profile id is `provider:name`"),
        ("anthropic-default", "a profile id is `provider:name`"),
        (":default", "the provider part is empty"),
        ("anthropic:", "the name after ':' is empty"),
        (":", "the provider part is empty"),
        ("Anthropic:default", "starts with a lowercase letter or a digit, not 'A'"),
        ("anthRopic:default", "only lowercase letters, digits, '.', '_' and '-', not 'R'"),
        ("-anthropic:default", "starts with a lowercase letter or a digit, not '-'"),
        (" anthropic:default", "not ' '"),
        ("open ai:default", "not ' '"),
        ("anthropic:my key", "only letters, digits and '. _ - @ +', not ' '"),
        ("anthropic:default ", "not ' '"),
        ("anthropic:team/a", "not '/'"),
        ("open/ai:default", "not '/'"),
        ("anthropic:a:b", "not ':'"),
        ("anthropic:-backup", "a profile name starts with a letter or a digit, not '-'"),
        ("anthropic:@work", "a profile name starts with a letter or a digit, not '@'"),
        ("anthropic:émile", "starts with a letter or a digit, not 'é'"),
        ("anthropic:zoë", "not 'ë'"),
        ("anthropic:" + String(repeating: "a", count: 129), "the name is longer than 128 characters"),
        (String(repeating: "a", count: 129) + ":default", "the provider id is longer than 128 characters"),
    ]

    @Test(arguments: invalidCases)
    func rejectsInvalidIDsSayingWhy(_ text: String, _ reasonFragment: String) throws {
        let error = try #require(Self.parseError(text))
        #expect(error.reason.contains(reasonFragment), "reason was: \(error.reason)")
        #expect(error.id == text)
        #expect(error.description == "invalid profile id '\(text)': \(error.reason)")
    }

    @Test func initFromPartsValidatesBothParts() {
        #expect(throws: ProfileIDError.self) { try ProfileID(provider: "Anthropic", name: "default") }
        #expect(throws: ProfileIDError.self) { try ProfileID(provider: "", name: "default") }
        #expect(throws: ProfileIDError.self) { try ProfileID(provider: "anthropic", name: "") }
        #expect(throws: ProfileIDError.self) { try ProfileID(provider: "anthropic", name: "a:b") }
        #expect(throws: ProfileIDError.self) { try ProfileID(provider: "anthropic:x", name: "b") }
        let nameError = #expect(throws: ProfileIDError.self) { try ProfileID(provider: "openai", name: "a b") }
        #expect(nameError?.id == "openai:a b")
        #expect(nameError?.reason.contains("not ' '") == true)
    }

    @Test(arguments: ["anthropic", "lm-studio", "x.ai", "a_b", "0", "openai"])
    func validateProviderAcceptsProviderIDs(_ provider: String) throws {
        try ProfileID.validateProvider(provider)
    }

    @Test(arguments: ["", "OpenAI", "open ai", "open:ai", "_x", ".x", "-x", "ü"])
    func validateProviderRejectsBadProviderIDs(_ provider: String) {
        #expect(throws: ProfileIDError.self) { try ProfileID.validateProvider(provider) }
    }

    // MARK: - Ordering and identity

    @Test func ordersByProviderThenName() throws {
        let texts = [
            "openai:b", "anthropic:z", "anthropic:a", "lm-studio:x", "anthropic-eu:a", "openai:B", "anthropic:backup",
        ]
        let sorted = try texts.map { try ProfileID(parsing: $0) }.sorted().map(\.description)
        #expect(sorted == [
            "anthropic:a", "anthropic:backup", "anthropic:z", "anthropic-eu:a", "lm-studio:x", "openai:B", "openai:b",
        ])
    }

    @Test func providerIsComparedBeforeName() throws {
        // As plain strings "a-b:a" < "a:z" ('-' sorts before ':'), but ids compare the provider first.
        let short = try ProfileID(parsing: "a:z")
        let long = try ProfileID(parsing: "a-b:a")
        #expect(short < long)
        #expect(!(long < short))
        #expect(!(short < short))
    }

    @Test func equalIDsHashTogether() throws {
        let ids: Set<ProfileID> = [
            try ProfileID(parsing: "anthropic:default"),
            try ProfileID(provider: "anthropic", name: "default"),
            try ProfileID(parsing: "anthropic:Default"),
        ]
        #expect(ids.count == 2)
    }
}
