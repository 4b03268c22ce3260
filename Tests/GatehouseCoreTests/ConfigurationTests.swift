import GatehouseCore
import Testing

@Suite struct ConfigurationTests {

    /// The example of DESIGN.md section 12, verbatim.
    static let designExample = #"""
        {
          "gateway": { "bind": "127.0.0.1", "port": 18789 },
          "agents": [ { "id": "main", "default": true }, { "id": "helper" } ],
          "providers": {
            "anthropic": { "baseUrl": "http://127.0.0.1:9100" },
            "acme": {
              "api": "openai-chat",
              "baseUrl": "http://127.0.0.1:9100/v1",
              "auth": "bearer",
              "envKeys": ["ACME_API_KEY"],
              "oauth": { "tokenUrl": "http://127.0.0.1:9100/oauth/token", "clientId": "gatehouse-test", "encoding": "form" },
              "models": [ { "id": "acme-large", "name": "Acme Large", "contextWindow": 128000 } ]
            }
          },
          "auth": {
            "order": { "anthropic": ["anthropic:default", "anthropic:backup"] },
            "cooldowns": { "transientSeconds": [30, 60, 300], "authBaseMinutes": 10, "authMaxMinutes": 60,
                           "billingBaseMinutes": 10, "billingMaxHours": 24, "failureWindowHours": 24 },
            "refreshMarginSeconds": 300
          },
          "pairing": { "autoApprove": { "local": true,
                       "rules": [ { "clientMode": "cli", "maxScopes": ["operator.read", "operator.write"] } ] } },
          "store": { "kind": "file" }
        }
        """#

    private static func load(_ text: String, environment: [String: String] = [:]) throws -> GatehouseConfiguration {
        try GatehouseConfiguration(json: try JSONValue.parse(text), environment: environment)
    }

    private static func loadError(_ text: String, environment: [String: String] = [:]) throws -> JSONFieldError? {
        let json = try JSONValue.parse(text)
        do {
            _ = try GatehouseConfiguration(json: json, environment: environment)
            return nil
        } catch {
            return error
        }
    }

    // MARK: - The design example

    @Test func designExampleDecodes() throws {
        let config = try Self.load(Self.designExample)

        #expect(config.gateway.bind == "127.0.0.1")
        #expect(config.gateway.port == 18789)

        #expect(config.agents == [
            GatehouseConfiguration.Agent(id: "main", isDefault: true),
            GatehouseConfiguration.Agent(id: "helper", isDefault: false),
        ])
        #expect(config.defaultAgentID == "main")

        #expect(Set(config.providers.keys) == ["anthropic", "acme"])
        let anthropic = try #require(config.providers["anthropic"])
        #expect(anthropic.baseURL == "http://127.0.0.1:9100")
        #expect(anthropic.api == nil)
        #expect(anthropic.auth == nil)
        #expect(anthropic.envKeys == nil)
        #expect(anthropic.oauth == nil)
        #expect(anthropic.models == nil)

        let acme = try #require(config.providers["acme"])
        #expect(acme.api == .openAIChat)
        #expect(acme.baseURL == "http://127.0.0.1:9100/v1")
        #expect(acme.auth == .bearer)
        #expect(acme.envKeys == ["ACME_API_KEY"])
        let oauth = try #require(acme.oauth)
        #expect(oauth.tokenURL == "http://127.0.0.1:9100/oauth/token")
        #expect(oauth.clientID == "gatehouse-test")
        #expect(oauth.encoding == .form)
        #expect(oauth.scopes == nil)
        #expect(acme.models == [GatehouseConfiguration.Model(id: "acme-large", name: "Acme Large", contextWindow: 128_000)])

        #expect(config.auth.order == [
            "anthropic": [try ProfileID(parsing: "anthropic:default"), try ProfileID(parsing: "anthropic:backup")],
        ])
        let cooldowns = config.auth.cooldowns
        #expect(cooldowns.transient == [.seconds(30), .seconds(60), .seconds(300)])
        #expect(cooldowns.authBase == .seconds(600))
        #expect(cooldowns.authMax == .seconds(3600))
        #expect(cooldowns.billingBase == .seconds(600))
        #expect(cooldowns.billingMax == .seconds(86_400))
        #expect(cooldowns.failureWindow == .seconds(86_400))
        #expect(config.auth.refreshMargin == .seconds(300))

        #expect(config.pairing.autoApproveLocal)
        #expect(config.pairing.rules == [
            GatehouseConfiguration.Pairing.Rule(clientMode: "cli", maxScopes: ["operator.read", "operator.write"]),
        ])
        #expect(config.storeKind == .file)
        #expect(config.storeURL == nil)
    }

    @Test func nonDefaultValuesAreRead() throws {
        let config = try Self.load(#"""
            {
              "gateway": { "bind": "0.0.0.0", "port": 8443, "maxBodyBytes": 1048576, "drainTimeoutSeconds": 5 },
              "auth": {
                "cooldowns": { "transientSeconds": [5, 12.5], "authBaseMinutes": 2, "authMaxMinutes": 30,
                               "billingBaseMinutes": 1.5, "billingMaxHours": 6, "failureWindowHours": 0.5 },
                "refreshMarginSeconds": 0
              },
              "pairing": { "autoApprove": { "local": false, "rules": [ { "maxScopes": [] } ] } },
              "store": { "kind": "postgres", "url": "postgres://gatehouse@db.internal/gatehouse" }
            }
            """#)
        #expect(config.gateway.bind == "0.0.0.0")
        #expect(config.gateway.port == 8443)
        #expect(config.gateway.maxBodyBytes == 1 << 20)
        #expect(config.gateway.drainTimeoutSeconds == 5)
        #expect(config.auth.cooldowns.transient == [.seconds(5), .milliseconds(12_500)])
        #expect(config.auth.cooldowns.authBase == .seconds(120))
        #expect(config.auth.cooldowns.authMax == .seconds(1800))
        #expect(config.auth.cooldowns.billingBase == .seconds(90))
        #expect(config.auth.cooldowns.billingMax == .seconds(6 * 3600))
        #expect(config.auth.cooldowns.failureWindow == .seconds(1800))
        #expect(config.auth.refreshMargin == .zero)
        #expect(!config.pairing.autoApproveLocal)
        #expect(config.pairing.rules == [GatehouseConfiguration.Pairing.Rule(clientMode: nil, maxScopes: [])])
        #expect(config.storeKind == .postgres)
        #expect(config.storeURL == "postgres://gatehouse@db.internal/gatehouse")
    }

    // MARK: - Defaults

    @Test func emptyConfigurationHasTheDefaults() throws {
        let config = try Self.load("{}")
        #expect(config == GatehouseConfiguration())
        #expect(config.agents == [GatehouseConfiguration.Agent(id: "main", isDefault: true)])
        #expect(config.defaultAgentID == "main")
        #expect(config.gateway.bind == "127.0.0.1")
        #expect(config.gateway.port == 18789)
        #expect(config.auth.cooldowns.transient == [.seconds(30), .seconds(60), .seconds(300)])
        #expect(config.auth.cooldowns.authBase == .seconds(600))
        #expect(config.auth.cooldowns.authMax == .seconds(3600))
        #expect(config.auth.cooldowns.billingBase == .seconds(600))
        #expect(config.auth.cooldowns.billingMax == .seconds(86_400))
        #expect(config.auth.cooldowns.failureWindow == .seconds(86_400))
        #expect(config.auth.refreshMargin == .seconds(300))
        #expect(config.auth.order.isEmpty)
        #expect(config.providers.isEmpty)
        #expect(config.resolvedProviders == BuiltinProviders.all)
        #expect(config.pairing.autoApproveLocal)
        #expect(config.pairing.rules.isEmpty)
        #expect(config.storeKind == .file)
        #expect(config.storeURL == nil)
    }

    @Test func emptySectionsKeepTheDefaults() throws {
        let config = try Self.load(#"{"gateway":{},"agents":[],"providers":{},"auth":{"order":{},"cooldowns":{}},"pairing":{},"store":{}}"#)
        #expect(config == GatehouseConfiguration())
    }

    @Test func nullValuesCountAsAbsent() throws {
        let config = try Self.load(#"{"gateway":{"port":null},"store":null}"#)
        #expect(config.gateway.port == 18789)
        #expect(config.storeKind == .file)
    }

    @Test func firstAgentIsTheDefaultWhenNoneIsMarked() throws {
        let config = try Self.load(#"{"agents":[{"id":"alpha"},{"id":"beta"},{"id":"gamma","default":false}]}"#)
        #expect(config.agents.map(\.id) == ["alpha", "beta", "gamma"])
        #expect(config.agents.map(\.isDefault) == [true, false, false])
        #expect(config.defaultAgentID == "alpha")
    }

    @Test func markedAgentIsTheDefault() throws {
        let config = try Self.load(#"{"agents":[{"id":"alpha"},{"id":"beta","default":true}]}"#)
        #expect(config.agents.map(\.isDefault) == [false, true])
        #expect(config.defaultAgentID == "beta")
    }

    // MARK: - Errors

    struct ErrorCase: Sendable, CustomTestStringConvertible {
        var label: String
        var json: String
        var environment: [String: String] = [:]
        var field: String
        var reasonFragment: String
        var testDescription: String { label }
    }

    static let errorCases: [ErrorCase] = [
        ErrorCase(label: "unknown top-level key", json: #"{"gateway":{},"listen":"127.0.0.1:18789"}"#,
                  field: "listen", reasonFragment: "unknown key"),
        ErrorCase(label: "several unknown top-level keys", json: #"{"zeta":1,"alpha":2}"#,
                  field: "alpha", reasonFragment: "unknown keys 'alpha', 'zeta'"),
        ErrorCase(label: "unknown gateway key", json: #"{"gateway":{"host":"0.0.0.0"}}"#,
                  field: "gateway.host", reasonFragment: "known keys here: bind, port, maxBodyBytes, drainTimeoutSeconds"),
        ErrorCase(label: "body limit too small", json: #"{"gateway":{"maxBodyBytes":10}}"#,
                  field: "gateway.maxBodyBytes", reasonFragment: "at least 1024 (bytes), found 10"),
        ErrorCase(label: "drain timeout negative", json: #"{"gateway":{"drainTimeoutSeconds":-1}}"#,
                  field: "gateway.drainTimeoutSeconds", reasonFragment: "from 0 to 3600 (seconds), found -1"),
        ErrorCase(label: "port zero", json: #"{"gateway":{"port":0}}"#,
                  field: "gateway.port", reasonFragment: "from 1 to 65535, found 0"),
        ErrorCase(label: "port too big", json: #"{"gateway":{"port":65536}}"#,
                  field: "gateway.port", reasonFragment: "found 65536"),
        ErrorCase(label: "port negative", json: #"{"gateway":{"port":-1}}"#,
                  field: "gateway.port", reasonFragment: "must be a port number"),
        ErrorCase(label: "port as a string", json: #"{"gateway":{"port":"18789"}}"#,
                  field: "gateway.port", reasonFragment: "expected an integer, found string"),
        ErrorCase(label: "port with a fraction", json: #"{"gateway":{"port":80.5}}"#,
                  field: "gateway.port", reasonFragment: "expected an integer, found number"),
        ErrorCase(label: "empty bind", json: #"{"gateway":{"bind":""}}"#,
                  field: "gateway.bind", reasonFragment: "must not be empty"),
        ErrorCase(label: "gateway not an object", json: #"{"gateway":18789}"#,
                  field: "gateway", reasonFragment: "expected an object, found integer"),
        ErrorCase(label: "duplicate agent id", json: #"{"agents":[{"id":"main"},{"id":"helper"},{"id":"main"}]}"#,
                  field: "agents[2].id", reasonFragment: #"agent "main" is listed twice"#),
        ErrorCase(label: "two defaults", json: #"{"agents":[{"id":"main","default":true},{"id":"helper","default":true}]}"#,
                  field: "agents", reasonFragment: "more than one agent is marked default: main, helper"),
        ErrorCase(label: "invalid agent id", json: #"{"agents":[{"id":"main"},{"id":"Helper Bot"}]}"#,
                  field: "agents[1].id", reasonFragment: #""Helper Bot": an agent id starts with a lowercase letter"#),
        ErrorCase(label: "agent without an id", json: #"{"agents":[{"default":true}]}"#,
                  field: "agents[0].id", reasonFragment: "missing"),
        ErrorCase(label: "unknown agent key", json: #"{"agents":[{"id":"main","model":"gpt"}]}"#,
                  field: "agents[0].model", reasonFragment: "unknown key"),
        ErrorCase(label: "agent default not a bool", json: #"{"agents":[{"id":"main","default":"yes"}]}"#,
                  field: "agents[0].default", reasonFragment: "expected true or false"),
        ErrorCase(label: "agents not an array", json: #"{"agents":{"main":{}}}"#,
                  field: "agents", reasonFragment: "expected an array"),
        ErrorCase(label: "uppercase provider id", json: #"{"providers":{"Acme":{"baseUrl":"http://x"}}}"#,
                  field: "providers.Acme", reasonFragment: "starts with a lowercase letter or a digit, not 'A'"),
        ErrorCase(label: "provider id with a space", json: #"{"providers":{"my provider":{"baseUrl":"http://x"}}}"#,
                  field: #"providers["my provider"]"#, reasonFragment: "not ' '"),
        ErrorCase(label: "new provider without baseUrl", json: #"{"providers":{"acme":{"api":"openai-chat"}}}"#,
                  field: "providers.acme.baseUrl", reasonFragment: "needs a baseUrl"),
        ErrorCase(label: "provider baseUrl without a scheme", json: #"{"providers":{"acme":{"baseUrl":"127.0.0.1:9100"}}}"#,
                  field: "providers.acme.baseUrl", reasonFragment: "must start with http:// or https://"),
        ErrorCase(label: "unknown wire api", json: #"{"providers":{"acme":{"api":"grpc","baseUrl":"http://x"}}}"#,
                  field: "providers.acme.api", reasonFragment: #"unknown wire API "grpc""#),
        ErrorCase(label: "unknown auth style", json: #"{"providers":{"openai":{"auth":"basic"}}}"#,
                  field: "providers.openai.auth", reasonFragment: #"unknown auth style "basic""#),
        ErrorCase(label: "unknown provider key", json: #"{"providers":{"openai":{"headers":{}}}}"#,
                  field: "providers.openai.headers", reasonFragment: "unknown key"),
        ErrorCase(label: "envKeys with a number", json: #"{"providers":{"openai":{"envKeys":["OPENAI_API_KEY",7]}}}"#,
                  field: "providers.openai.envKeys[1]", reasonFragment: "expected a string, found integer"),
        ErrorCase(label: "oauth encoding", json: #"{"providers":{"openai":{"oauth":{"encoding":"xml"}}}}"#,
                  field: "providers.openai.oauth.encoding", reasonFragment: #"expected "form" or "json""#),
        ErrorCase(label: "unknown oauth key", json: #"{"providers":{"openai":{"oauth":{"secret":"s"}}}}"#,
                  field: "providers.openai.oauth.secret", reasonFragment: "unknown key"),
        ErrorCase(label: "model without an id", json: #"{"providers":{"openai":{"models":[{"id":"gpt-x"},{"name":"No id"}]}}}"#,
                  field: "providers.openai.models[1].id", reasonFragment: "missing"),
        ErrorCase(label: "model context window as a string",
                  json: #"{"providers":{"openai":{"models":[{"id":"gpt-x","contextWindow":"128k"}]}}}"#,
                  field: "providers.openai.models[0].contextWindow", reasonFragment: "expected an integer"),
        ErrorCase(label: "order entry of another provider",
                  json: #"{"auth":{"order":{"anthropic":["anthropic:default","openai:default"]}}}"#,
                  field: "auth.order.anthropic[1]", reasonFragment: #"openai:default belongs to provider "openai", not "anthropic""#),
        ErrorCase(label: "bad profile id in order", json: #"{"auth":{"order":{"anthropic":["anthropic"]}}}"#,
                  field: "auth.order.anthropic[0]", reasonFragment: "invalid profile id 'anthropic'"),
        ErrorCase(label: "profile id with a space in order", json: #"{"auth":{"order":{"openai":["openai:default","openai:my key"]}}}"#,
                  field: "auth.order.openai[1]", reasonFragment: "invalid profile id 'openai:my key'"),
        ErrorCase(label: "order entry not a string", json: #"{"auth":{"order":{"openai":[1]}}}"#,
                  field: "auth.order.openai[0]", reasonFragment: "expected a profile id string, found integer"),
        ErrorCase(label: "order not an array", json: #"{"auth":{"order":{"openai":"openai:default"}}}"#,
                  field: "auth.order.openai", reasonFragment: "expected an array of profile ids, found string"),
        ErrorCase(label: "zero transient step", json: #"{"auth":{"cooldowns":{"transientSeconds":[30,0]}}}"#,
                  field: "auth.cooldowns.transientSeconds[1]", reasonFragment: "greater than 0"),
        ErrorCase(label: "no transient steps", json: #"{"auth":{"cooldowns":{"transientSeconds":[]}}}"#,
                  field: "auth.cooldowns.transientSeconds", reasonFragment: "at least one step"),
        ErrorCase(label: "negative cooldown", json: #"{"auth":{"cooldowns":{"authBaseMinutes":-1}}}"#,
                  field: "auth.cooldowns.authBaseMinutes", reasonFragment: "greater than 0"),
        ErrorCase(label: "cooldown as a string", json: #"{"auth":{"cooldowns":{"billingMaxHours":"24h"}}}"#,
                  field: "auth.cooldowns.billingMaxHours", reasonFragment: "expected a number, found string"),
        ErrorCase(label: "unknown cooldown key", json: #"{"auth":{"cooldowns":{"transient":[30]}}}"#,
                  field: "auth.cooldowns.transient", reasonFragment: "unknown key"),
        ErrorCase(label: "negative refresh margin", json: #"{"auth":{"refreshMarginSeconds":-5}}"#,
                  field: "auth.refreshMarginSeconds", reasonFragment: "must be from 0 to 86400 seconds"),
        ErrorCase(label: "unknown auth key", json: #"{"auth":{"profiles":{}}}"#,
                  field: "auth.profiles", reasonFragment: "unknown key"),
        ErrorCase(label: "unknown pairing rule key",
                  json: #"{"pairing":{"autoApprove":{"rules":[{"clientMode":"cli","scopes":["operator.read"]}]}}}"#,
                  field: "pairing.autoApprove.rules[0].scopes", reasonFragment: "unknown key"),
        ErrorCase(label: "pairing scope not a string", json: #"{"pairing":{"autoApprove":{"rules":[{"maxScopes":[true]}]}}}"#,
                  field: "pairing.autoApprove.rules[0].maxScopes[0]", reasonFragment: "expected a string"),
        ErrorCase(label: "unknown pairing key", json: #"{"pairing":{"manual":true}}"#,
                  field: "pairing.manual", reasonFragment: "unknown key"),
        ErrorCase(label: "unknown store kind", json: #"{"store":{"kind":"sqlite"}}"#,
                  field: "store.kind", reasonFragment: #"unknown store kind "sqlite"; expected "file" or "postgres""#),
        ErrorCase(label: "unknown store key", json: #"{"store":{"kind":"file","path":"/tmp"}}"#,
                  field: "store.path", reasonFragment: "unknown key"),
        ErrorCase(label: "top level not an object", json: #"[]"#,
                  field: "(top level)", reasonFragment: "expected an object, found array"),
        ErrorCase(label: "unset variable", json: #"{"providers":{"acme":{"baseUrl":"${ACME_URL}/v1"}}}"#,
                  field: "providers.acme.baseUrl", reasonFragment: "environment variable ACME_URL is not set"),
        ErrorCase(label: "unset variable in an array", json: #"{"providers":{"acme":{"baseUrl":"http://x","envKeys":["A","${KEYVAR}"]}}}"#,
                  environment: ["A": "unused"],
                  field: "providers.acme.envKeys[1]", reasonFragment: "KEYVAR is not set"),
        ErrorCase(label: "unset variable in the store url", json: #"{"store":{"kind":"postgres","url":"postgres://u:${PGPASS}@db/g"}}"#,
                  environment: ["PGPASSWORD": "close but no"],
                  field: "store.url", reasonFragment: "PGPASS is not set"),
        ErrorCase(label: "unterminated variable", json: #"{"gateway":{"bind":"${BIND"}}"#, environment: ["BIND": "0.0.0.0"],
                  field: "gateway.bind", reasonFragment: "unterminated ${"),
    ]

    @Test(arguments: errorCases)
    func errorsNameTheField(_ c: ErrorCase) throws {
        let error = try #require(try Self.loadError(c.json, environment: c.environment))
        #expect(error.field == c.field)
        #expect(error.reason.contains(c.reasonFragment), "reason was: \(error.reason)")
    }

    /// Field paths use `["…"]` for keys that are not plain names (as `JSONFieldReader.fieldPath` does),
    /// so an error about `lm-studio` should name `providers["lm-studio"].baseUrl`, whichever step finds it.
    @Test func unsetVariableErrorNamesTheFieldLikeEveryOtherError() throws {
        let unset = try #require(try Self.loadError(#"{"providers":{"lm-studio":{"baseUrl":"${LMS_URL}"}}}"#))
        let invalid = try #require(try Self.loadError(#"{"providers":{"lm-studio":{"baseUrl":"ftp://x"}}}"#))
        #expect(invalid.field == #"providers["lm-studio"].baseUrl"#)
        #expect(unset.field == invalid.field)
    }

    // MARK: - Variables

    @Test func variablesAreExpandedInEveryString() throws {
        let config = try Self.load(
            #"""
            {
              "gateway": { "bind": "${BIND}" },
              "agents": [ { "id": "${AGENT}" } ],
              "providers": {
                "acme": { "baseUrl": "http://${HOST}:${PORT}/v1", "envKeys": ["${KEYVAR}", "ACME_FALLBACK"],
                          "oauth": { "clientId": "${CLIENT}-id" } }
              },
              "auth": { "order": { "acme": ["acme:${USER_NAME}"] } },
              "store": { "kind": "${STORE}", "url": "postgres://gh:${PGPASS}@db/gh" }
            }
            """#,
            environment: [
                "BIND": "10.0.0.2", "AGENT": "ops", "HOST": "127.0.0.1", "PORT": "9100", "KEYVAR": "ACME_KEY",
                "CLIENT": "gatehouse", "USER_NAME": "ci@example.com", "STORE": "postgres", "PGPASS": "p@ss}w0rd",
            ])
        #expect(config.gateway.bind == "10.0.0.2")
        #expect(config.defaultAgentID == "ops")
        #expect(config.providers["acme"]?.baseURL == "http://127.0.0.1:9100/v1")
        #expect(config.providers["acme"]?.envKeys == ["ACME_KEY", "ACME_FALLBACK"])
        #expect(config.providers["acme"]?.oauth?.clientID == "gatehouse-id")
        #expect(config.auth.order["acme"] == [try ProfileID(parsing: "acme:ci@example.com")])
        #expect(config.storeKind == .postgres)
        // A value with `}` in it is inserted as is, not scanned again.
        #expect(config.storeURL == "postgres://gh:p@ss}w0rd@db/gh")
    }

    @Test func textWithoutBracesIsLeftAlone() throws {
        let config = try Self.load(#"{"store":{"url":"postgres://u:$PGPASS@db/{x}$"}}"#, environment: ["PGPASS": "secret"])
        #expect(config.storeURL == "postgres://u:$PGPASS@db/{x}$")
    }

    @Test func anEmptyVariableExpandsToNothing() throws {
        let config = try Self.load(#"{"providers":{"acme":{"baseUrl":"http://127.0.0.1:9100${PREFIX}/v1"}}}"#,
                                   environment: ["PREFIX": ""])
        #expect(config.providers["acme"]?.baseURL == "http://127.0.0.1:9100/v1")
    }

    @Test func expandedValuesAreValidatedLikeWrittenOnes() throws {
        let error = try #require(try Self.loadError(#"{"agents":[{"id":"${AGENT}"}]}"#, environment: ["AGENT": "Ops Team"]))
        #expect(error.field == "agents[0].id")
    }

    // MARK: - Resolved providers

    @Test func resolvedProvidersApplyOverridesAndAddNewOnes() throws {
        let config = try Self.load(Self.designExample)
        let resolved = config.resolvedProviders
        #expect(resolved.count == BuiltinProviders.all.count + 1)

        let anthropic = try #require(resolved["anthropic"])
        let builtin = try #require(BuiltinProviders.all["anthropic"])
        #expect(anthropic.baseURL == "http://127.0.0.1:9100")
        #expect(anthropic.api == builtin.api)
        #expect(anthropic.api == .anthropicMessages)
        #expect(anthropic.auth == .xAPIKey)
        #expect(anthropic.envKeys == ["ANTHROPIC_API_KEY"])
        #expect(anthropic.isLocal)
        #expect(!builtin.isLocal)

        let acme = try #require(resolved["acme"])
        #expect(acme == ProviderDefinition(id: "acme", api: .openAIChat, baseURL: "http://127.0.0.1:9100/v1",
                                           auth: .bearer, envKeys: ["ACME_API_KEY"],
                                           oauth: OAuthDefinition(tokenURL: "http://127.0.0.1:9100/oauth/token",
                                                                  clientID: "gatehouse-test", encoding: .form),
                                           models: [ModelDefinition(id: "acme-large", name: "Acme Large", contextWindow: 128_000)]))
        #expect(acme.isLocal)
        // An override that gives no models keeps the built-in catalog.
        #expect(anthropic.models == builtin.models)

        for (id, definition) in BuiltinProviders.all where id != "anthropic" {
            #expect(resolved[id] == definition, "\(id) changed")
        }
    }

    @Test func overridesReplaceOnlyTheKeysGiven() throws {
        let config = try Self.load(#"""
            {"providers": {
              "openai": { "auth": "x-api-key" },
              "gemini": { "envKeys": [] },
              "groq": { "api": "anthropic-messages", "baseUrl": "https://groq.example/v1" },
              "minimal": { "baseUrl": "https://minimal.example" }
            }}
            """#)
        let resolved = config.resolvedProviders
        let openAIModels = try #require(BuiltinProviders.all["openai"]).models
        #expect(resolved["openai"] == ProviderDefinition(id: "openai", api: .openAIChat, baseURL: "https://api.openai.com/v1",
                                                         auth: .xAPIKey, envKeys: ["OPENAI_API_KEY"], models: openAIModels))
        #expect(resolved["gemini"]?.envKeys == [])
        #expect(resolved["gemini"]?.baseURL == BuiltinProviders.all["gemini"]?.baseURL)
        #expect(resolved["groq"]?.api == .anthropicMessages)
        #expect(resolved["groq"]?.baseURL == "https://groq.example/v1")
        #expect(resolved["groq"]?.auth == .bearer)
        // A new provider that gives only a base URL speaks OpenAI chat with a bearer token.
        #expect(resolved["minimal"] == ProviderDefinition(id: "minimal", api: .openAIChat, baseURL: "https://minimal.example",
                                                          auth: .bearer, envKeys: []))
    }

    @Test func configuredModelsAreAddedToABuiltinCatalogOrReplaceTheEntryWithTheirID() throws {
        let builtin = try #require(BuiltinProviders.all["openai"]).models
        let replaced = try #require(builtin.firstIndex { $0.id == "gpt-4o" })
        let config = try Self.load(#"""
            {"providers": {
              "openai": { "models": [
                { "id": "ft:gpt-4.1-mini:acme::abc123", "name": "Acme tuned", "contextWindow": 1047576 },
                { "id": "gpt-4o", "name": "GPT-4o (pinned)" },
                { "id": "gpt-4.1-preview" }
              ] }
            }}
            """#)
        let openAI = try #require(config.resolvedProviders["openai"])

        var expected = builtin
        // A known id is replaced in place, with only what the configuration gives.
        expected[replaced] = ModelDefinition(id: "gpt-4o", name: "GPT-4o (pinned)", contextWindow: nil)
        // New ids follow the built-in ones, in the order given; a model without a name is named by its id.
        expected.append(ModelDefinition(id: "ft:gpt-4.1-mini:acme::abc123", name: "Acme tuned", contextWindow: 1_047_576))
        expected.append(ModelDefinition(id: "gpt-4.1-preview", name: "gpt-4.1-preview"))
        #expect(openAI.models == expected)
        #expect(openAI.models.count == builtin.count + 2)
        #expect(Set(openAI.models.map(\.id)).count == openAI.models.count)

        // Only the provider that lists models changes, and the rest of it stays as built.
        var unchanged = openAI
        unchanged.models = builtin
        #expect(unchanged == BuiltinProviders.all["openai"])
        for (id, definition) in BuiltinProviders.all where id != "openai" {
            #expect(config.resolvedProviders[id] == definition, "\(id) changed")
        }
    }

    @Test func aModelIDWithSlashesIsAddedToItsProvider() throws {
        let config = try Self.load(#"""
            {"providers": { "openrouter": { "models": [
              { "id": "anthropic/claude-sonnet-4.5", "contextWindow": 200000 },
              { "id": "acme/widget-1:free", "name": "Acme Widget (free)" }
            ] } }}
            """#)
        let builtin = try #require(BuiltinProviders.all["openrouter"]).models
        let models = try #require(config.resolvedProviders["openrouter"]).models
        #expect(models.count == builtin.count + 1)
        #expect(models.first { $0.id == "anthropic/claude-sonnet-4.5" } == ModelDefinition(id: "anthropic/claude-sonnet-4.5", contextWindow: 200_000))
        #expect(models.last == ModelDefinition(id: "acme/widget-1:free", name: "Acme Widget (free)"))
    }

    @Test func builtinProvidersAreConsistent() {
        #expect(BuiltinProviders.all.count >= 3)
        for (id, definition) in BuiltinProviders.all {
            #expect(definition.id == id)
            // A provider reached only through OAuth logins has no API key variable.
            #expect(!definition.envKeys.isEmpty || definition.oauth != nil, "\(id)")
            #expect(definition.baseURL.hasPrefix("http"), "\(id)")
            #expect((try? ProfileID.validateProvider(id)) != nil, "\(id)")
        }
        #expect(BuiltinProviders.all["anthropic"]?.auth == .xAPIKey)
        #expect(BuiltinProviders.all["openai"]?.api == .openAIChat)
        let local = BuiltinProviders.all.values.filter(\.isLocal).map(\.id).sorted()
        #expect(local == ["lm-studio", "ollama", "vllm"])
    }

    // MARK: - isLocal

    private static func definition(_ baseURL: String) -> ProviderDefinition {
        ProviderDefinition(id: "p", api: .openAIChat, baseURL: baseURL, auth: .bearer, envKeys: [])
    }

    static let localCases: [(url: String, isLocal: Bool)] = [
        ("http://127.0.0.1:9100", true),
        ("http://127.0.0.1:9100/v1", true),
        ("https://127.0.0.1", true),
        ("http://127.1.2.3:8000/v1", true),
        ("http://localhost:1234/v1", true),
        ("http://localhost", true),
        ("https://localhost:8443", true),
        ("HTTP://LOCALHOST:11434/v1", true),
        ("http://[::1]:8080/v1", true),
        ("https://[::1]", true),
        ("https://api.anthropic.com", false),
        ("https://api.openai.com/v1", false),
        ("http://10.0.0.5:8000/v1", false),
        ("http://192.168.1.20:11434/v1", false),
        ("http://128.0.0.1", false),
        ("http://0.0.0.0:8000", false),
        ("ftp://127.0.0.1", false),
        ("", false),
    ]

    @Test(arguments: localCases)
    func isLocalForLoopbackBaseURLs(_ url: String, _ isLocal: Bool) {
        #expect(Self.definition(url).isLocal == isLocal)
    }

    /// Host names that merely start with `localhost` or `127.` are not loopback, and a provider that
    /// "may need no credential" must not be one of them.
    @Test(arguments: [
        "http://localhost.attacker.example/v1",
        "https://localhostess.example",
        "http://127.attacker.example",
    ])
    func isLocalRejectsHostsThatOnlyStartLikeLoopback(_ url: String) {
        #expect(!Self.definition(url).isLocal, "\(url) is not a loopback address")
    }
}
