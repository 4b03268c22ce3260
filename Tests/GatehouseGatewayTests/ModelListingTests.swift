import Foundation
import GatehouseCore
import GatehouseStore
import GatehouseTestSupport
import NIOHTTP1
import Testing

/// `GET /v1/models` from the prepared views, against a running gateway: every source of change seen
/// within a second, none of the gateway's own bookkeeping causing a rebuild, one view per agent.
@Suite("gateway: model listing", .serialized)
struct ModelListingTests {
    /// A world (`openai` and `anthropic` are the mock, needing credentials) with the agents `main`
    /// (default) and `helper`.
    func withListingWorld<T>(
        extraProviders: [String: JSONValue] = [:], isolation: isolated (any Actor)? = #isolation, _ body: (GatewayWorld) async throws -> T
    ) async throws -> T {
        try await withTemporaryDirectory { dir in
            try await MockProvider.with { mock in
                let world = try GatewayWorld.make(
                    dir, mock: mock, extraProviders: extraProviders,
                    extra: ["agents": [["id": "main", "default": true], ["id": "helper"]]])
                return try await body(world)
            }
        }
    }

    /// The model ids `agent` is offered (`all`: every model).
    func ids(_ gateway: GatewayProcess, agent: String = "main", all: Bool = false) async throws -> Set<String> {
        let answer = try await gateway.send(.GET, all ? "/v1/models?all=true" : "/v1/models", headers: [("x-gatehouse-agent", agent)])
        try #require(answer.status == 200, "\(answer.status) \(answer.body)")
        return Set((answer.json?["data"]?.arrayValue ?? []).compactMap { $0["id"]?.stringValue })
    }

    /// The entry of `model` in `agent`'s full list.
    func entry(_ gateway: GatewayProcess, _ model: String, agent: String = "main") async throws -> JSONValue? {
        let answer = try await gateway.send(.GET, "/v1/models?all=true", headers: [("x-gatehouse-agent", agent)])
        return (answer.json?["data"]?.arrayValue ?? []).first { $0["id"]?.stringValue == model }
    }

    /// The view builds the gateway logged, as (agent, reasons) pairs.
    func builds(_ gateway: GatewayProcess) -> [(agent: String, reasons: String)] {
        gateway.process.stderrSoFar.split(separator: "\n").filter { $0.contains("prepared model view") }.map { line in
            func value(_ key: String) -> String {
                guard let range = line.range(of: " \(key)=") else { return "" }
                return String(line[range.upperBound...].prefix { $0 != " " })
            }
            return (value("agent"), value("reason"))
        }
    }

    func builds(_ gateway: GatewayProcess, agent: String, reason: ModelViewReason) -> Int {
        builds(gateway).count { $0.agent == agent && $0.reasons.split(separator: ",").contains(Substring(reason.rawValue)) }
    }

    /// A credential file with one API key per `(provider, name, key)`, as a person would write it.
    func handWritten(_ keys: [(String, String, String)]) -> String {
        var profiles: [String: JSONValue] = [:]
        for (provider, name, key) in keys {
            profiles["\(provider):\(name)"] = ["type": "api_key", "provider": .string(provider), "key": .string(key)]
        }
        return JSONValue.object(["version": 1, "profiles": .object(profiles)]).serializedString()
    }

    @Test("Stale TRUE and stale FALSE closed: a CLI remove, a hand edit, a delete and a re-create each show within 1 s")
    func everyChangeShows() async throws {
        try await withListingWorld { world in
            try await world.addKey("openai", "k1", key: "key-1")
            let path = world.gatehouseHome.authProfilesPath("main")
            try await GatewayProcess.with(home: world.home) { gateway in
                #expect(try await ids(gateway).contains("openai/gpt-4o"))
                #expect(!(try await ids(gateway).contains("xai/grok-4")))

                // Each change shows through a build that read the file after it: one that logs after the
                // change was made (log lines may come a few milliseconds late, and one build may take two
                // changes that came close together, so the builds are counted per step, not in all).
                func shows(_ step: String, after change: () async throws -> Void, _ visible: () async throws -> Bool) async throws {
                    let before = builds(gateway, agent: "main", reason: .externalEdit)
                    try await change()
                    #expect(try await eventually(timeout: .seconds(1)) { try await visible() }, "\(step)")
                    #expect(
                        await eventually { builds(gateway, agent: "main", reason: .externalEdit) > before },
                        "\(step): no build after the change: \(builds(gateway))")
                }

                // Another process (the CLI) removes the only openai profile.
                try await shows("stale TRUE", after: { try await world.cli(["auth", "remove", "openai:k1"]) }) {
                    !(try await ids(gateway).contains("openai/gpt-4o"))
                }
                // A person adds an xai key by editing the file in place.
                try await shows(
                    "stale FALSE",
                    after: { try handWritten([("xai", "hand", "xai-key")]).write(toFile: path, atomically: false, encoding: .utf8) }
                ) { try await ids(gateway).contains("xai/grok-4") }
                // The file is deleted...
                try await shows("deleted", after: { try FileManager.default.removeItem(atPath: path) }) {
                    !(try await ids(gateway).contains("xai/grok-4"))
                }
                // ...and created again with another key.
                try await shows(
                    "re-created",
                    after: { try handWritten([("openai", "again", "key-2")]).write(toFile: path, atomically: true, encoding: .utf8) }
                ) { try await ids(gateway).contains("openai/gpt-4o") }

                #expect(builds(gateway, agent: "main", reason: .firstRead) == 0, "every answer came from a prepared view")
            }
        }
    }

    @Test("The gateway's own bookkeeping writes (usage, cooldowns) cause no rebuild")
    func bookkeepingWritesDoNotRebuild() async throws {
        try await withListingWorld { world in
            try await world.addKey("openai", "k1", key: "key-1")
            try await world.addKey("openai", "k2", key: "key-2")
            try await world.mock.setKeyBehaviour("key-1", ["status": 429, "retryAfter": "600"])
            try await GatewayProcess.with(home: world.home) { gateway in
                #expect(await eventually { builds(gateway).count == 2 }, "one startup build per agent: \(builds(gateway))")
                for _ in 0..<20 {
                    let answer = try await gateway.send(.POST, "/v1/chat/completions", body: Body.chat("openai/gpt-4o"))
                    #expect(answer.status == 200, "\(answer.body)")
                }
                // The cooldown of k1 and the use of k2 reach auth-state.json...
                #expect(
                    await eventually(timeout: .seconds(3)) {
                        world.stats("openai:k1")?["cooldownUntil"] != nil && world.stats("openai:k2")?["lastUsed"] != nil
                    }, "\(String(describing: world.authState))")
                // ...and the views were never rebuilt.
                try await Task.sleep(for: .milliseconds(300))
                #expect(builds(gateway).count == 2, "\(builds(gateway))")
                #expect(builds(gateway).allSatisfy { $0.reasons == "startup" }, "\(builds(gateway))")
                #expect(try await entry(gateway, "openai/gpt-4o")?["available"] == true, "k2 still serves")
            }
        }
    }

    @Test("The gateway's own write of a credential (an OAuth refresh) rebuilds once as `credentials`, never as an outside edit")
    func ownCredentialWrite() async throws {
        try await withListingWorld(extraProviders: [:]) { world in
            let account = try await world.mock.account(email: "me@example.com")
            try await world.mock.setKeyBehaviour(account.access, ["reject": true])
            let login: JSONValue = [
                "access": .string(account.access), "refresh": .string(account.refresh), "expires": .int(nowMillis() + 3_600_000),
            ]
            // The world's openai entry plus the mock's token endpoint.
            try world.editProvider("openai") {
                $0["oauth"] = ["tokenUrl": .string(world.mock.baseURL + "/oauth/token"), "clientId": "gatehouse-test", "encoding": "form"]
            }
            try await world.cli(
                ["auth", "add", "openai", "--name", "me", "--oauth-json", "-"], stdin: login.serializedString(pretty: false))
            try await GatewayProcess.with(home: world.home) { gateway in
                let answer = try await gateway.send(.POST, "/v1/chat/completions", body: Body.chat("openai/gpt-4o"))
                #expect(answer.status == 200, "\(answer.body)")
                #expect(try await world.mock.counters()["oauth.refresh"] == 1)
                #expect(await eventually { builds(gateway, agent: "main", reason: .credentials) == 1 }, "\(builds(gateway))")
                try await Task.sleep(for: .milliseconds(300))
                #expect(builds(gateway, agent: "main", reason: .credentials) == 1, "\(builds(gateway))")
                #expect(
                    builds(gateway, agent: "main", reason: .externalEdit) == 0,
                    "its own write looked like an outside edit: \(builds(gateway))")
                #expect(try await entry(gateway, "openai/gpt-4o")?["available"] == true)
            }
        }
    }

    @Test("Each agent sees its own list, each from the view prepared for it at start")
    func perAgent() async throws {
        try await withListingWorld { world in
            try await world.addKey("openai", "k1", key: "key-1")
            try await world.cli(["auth", "add", "xai", "--agent", "helper", "--name", "x", "--api-key-stdin"], stdin: "xai-key")
            try await GatewayProcess.with(home: world.home) { gateway in
                #expect(await eventually { builds(gateway).count == 2 })
                for _ in 0..<5 {
                    let main = try await ids(gateway, agent: "main")
                    let helper = try await ids(gateway, agent: "helper")
                    #expect(main.contains("openai/gpt-4o") && !main.contains("xai/grok-4"), "\(main.sorted())")
                    #expect(helper.contains("xai/grok-4") && !helper.contains("openai/gpt-4o"), "\(helper.sorted())")
                }
                #expect(builds(gateway, agent: "main", reason: .startup) == 1)
                #expect(builds(gateway, agent: "helper", reason: .startup) == 1)
                #expect(builds(gateway).count == 2, "no other builds: \(builds(gateway))")

                let unknown = try await gateway.send(.GET, "/v1/models", headers: [("x-gatehouse-agent", "nobody")])
                #expect(unknown.status == 400)
                #expect(unknown.errorMessage?.contains("nobody") == true)
            }
        }
    }

    @Test("An auth failure that disables the only profile makes its models unavailable, with the reason and the end")
    func authFailure() async throws {
        try await withListingWorld { world in
            try await world.addKey("openai", "k1", key: "revoked-key")
            try await world.mock.setKeyBehaviour("revoked-key", ["reject": true])
            try await GatewayProcess.with(home: world.home) { gateway in
                #expect(try await entry(gateway, "openai/gpt-4o")?["available"] == true)
                let answer = try await gateway.send(.POST, "/v1/chat/completions", body: Body.chat("openai/gpt-4o"))
                #expect(answer.status >= 400)

                let entry = try #require(try await entry(gateway, "openai/gpt-4o"))
                #expect(entry["available"] == false, "\(entry)")
                #expect(entry["unavailableReason"] == "disabled", "\(entry)")
                let until = try #require(entry["unavailableUntil"]?.stringValue.flatMap(ISO8601.parse))
                #expect(until > nowMillis() + 60_000, "an auth disable lasts minutes: \(entry)")
                // Still listed (the agent has a credential), and the failure made a rebuild.
                #expect(try await ids(gateway).contains("openai/gpt-4o"))
                #expect(await eventually { builds(gateway, agent: "main", reason: .authFailure) == 1 }, "\(builds(gateway))")
            }
        }
    }

    @Test("An edit of gatehouse.json is applied within 1 s; an agent whose folder appears later is seen")
    func configurationAndLateFolder() async throws {
        try await withListingWorld { world in
            try await world.addKey("openai", "k1", key: "key-1")
            let helperFolder = world.gatehouseHome.agentDirectory("helper")
            #expect(!FileManager.default.fileExists(atPath: helperFolder))
            try await GatewayProcess.with(home: world.home) { gateway in
                #expect(try await ids(gateway, agent: "helper").isEmpty == false, "local providers need no credential")
                #expect(!(try await ids(gateway, agent: "helper").contains("xai/grok-4")))

                // A model added to the configuration by editing the file.
                try world.editProvider("openai") { $0["models"] = [["id": "gpt-next", "name": "GPT Next"]] }
                #expect(try await eventually(timeout: .seconds(1)) { try await ids(gateway).contains("openai/gpt-next") }, "config edit")
                #expect(await eventually { gateway.process.stderrSoFar.contains("reloaded the configuration") })

                // The helper's folder and credential file appear while the gateway runs.
                try await world.cli(["auth", "add", "xai", "--agent", "helper", "--name", "x", "--api-key-stdin"], stdin: "xai-key")
                #expect(
                    try await eventually(timeout: .seconds(1)) { try await ids(gateway, agent: "helper").contains("xai/grok-4") },
                    "late folder")

                // An invalid edit keeps the running configuration and its list.
                try AtomicFile.write(Array("{\"providers\": [}".utf8), to: world.gatehouseHome.configurationPath)
                #expect(await eventually { gateway.process.stderrSoFar.contains("kept the running configuration") })
                #expect(try await ids(gateway).contains("openai/gpt-next"))
            }
        }
    }

    @Test("Listing and serving agree: a local provider is listed and served with no credential; one that needs a key is neither")
    func localProviderServedWithoutCredential() async throws {
        // `ollama` is the mock on loopback (a local server needs no credential); `openai` needs one.
        try await withTemporaryDirectory { dir in
            try await MockProvider.with { mock in
                let world = try GatewayWorld.make(
                    dir, mock: mock,
                    extraProviders: ["ollama": ["baseUrl": .string(mock.baseURL + "/v1"), "models": [["id": "local-model"]]]])
                // Like a local server, the mock serves requests that carry no key.
                _ = try await world.mock.post("/admin/config", ["keyless": true])
                try await GatewayProcess.with(home: world.home) { gateway in
                    let listed = try await ids(gateway)
                    #expect(listed.contains("ollama/local-model"))
                    #expect(!listed.contains("openai/gpt-4o"))

                    let answer = try await gateway.send(.POST, "/v1/chat/completions", body: Body.chat("ollama/local-model"))
                    #expect(answer.status == 200, "\(answer.body)")
                    #expect(answer.header("X-Gatehouse-Profile") == nil, "no profile served it")
                    let upstream = try await world.lastRequest()
                    #expect(upstream["key"] == nil || upstream["key"] == .null, "no credential went upstream: \(upstream)")
                    let streamed = try await gateway.send(
                        .POST, "/v1/chat/completions", body: Body.chat("ollama/local-model", stream: true))
                    #expect(streamed.status == 200)
                    #expect(streamed.events.contains { $0.data == "[DONE]" }, "\(streamed.body)")

                    let refused = try await gateway.send(.POST, "/v1/chat/completions", body: Body.chat("openai/gpt-4o"))
                    #expect(refused.status == 503, "\(refused.body)")
                    #expect(refused.errorMessage?.contains("no usable credential for provider openai") == true, "\(refused.body)")
                }
            }
        }
    }

    @Test("gatehouse models list: the same list as the gateway, with or without one running")
    func cli() async throws {
        try await withListingWorld { world in
            try await world.addKey("openai", "k1", key: "key-1")
            let offline = try await world.cli(["models", "list", "--json"])
            let offlineIDs = Set((try JSONValue.parse(offline.stdout)["data"]?.arrayValue ?? []).compactMap { $0["id"]?.stringValue })
            #expect(offlineIDs.contains("openai/gpt-4o"))
            #expect(!offlineIDs.contains("xai/grok-4"))

            try await GatewayProcess.with(home: world.home) { gateway in
                #expect(try await ids(gateway) == offlineIDs)
                #expect(try await ids(gateway, all: true).count > offlineIDs.count)
                let table = try await world.cli(["models", "list", "--all"]).stdout
                #expect(table.contains("MODEL"))
                #expect(table.split(separator: "\n").contains { $0.hasPrefix("xai/grok-4 ") && $0.contains("missing_auth") }, "\(table)")
                #expect(table.split(separator: "\n").contains { $0.hasPrefix("openai/gpt-4o ") && $0.contains("yes") }, "\(table)")
            }
            let unknown = try await gatehouse(home: world.home, ["models", "list", "nosuch"])
            #expect(unknown.status != 0)
            #expect(unknown.stderr.contains("unknown provider 'nosuch'"))
        }
    }
}
