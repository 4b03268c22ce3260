import GatehouseCore
import GatehouseStore
import GatehouseTestSupport
import Glibc
import Logging
import Synchronization
import Testing

@testable import GatehouseGateway

/// A request without a session reuses the plan the last one got while nothing it was made from
/// changed; every change that can move a selection makes a new one at once.
@Suite("gateway: kept plans follow every change")
struct KeptPlanTests {
    struct Agent {
        let state: GatewayState
        let runtime: AgentRuntime
        let store: AgentStore
        /// What one client connection keeps: every request here comes on it, so each change is seen
        /// through the plan it kept as well as through the agent's.
        let connection = ConnectionMemo()

        /// The plan of an `openai/gpt-4o-mini` request at `now` (on another connection: `connection`).
        func plan(session: String? = nil, at now: Int64 = WallClock.nowMillis(), connection: ConnectionMemo? = nil) throws
            -> CandidatePlan
        {
            let memo = connection ?? self.connection
            return try runtime.plan(
                provider: "openai", model: "gpt-4o-mini", session: session, in: state.current, now: now, connectionKept: &memo.plan)
        }

        /// The profiles a request at `now` tries, usable ones first.
        func order(session: String? = nil, at now: Int64 = WallClock.nowMillis()) throws -> [String] {
            try plan(session: session, at: now).candidates.map(\.profile.id.description)
        }

        var plansMade: Int { runtime.plansMade.load(ordering: .relaxed) }

        func add(_ name: String, credential: Credential) async throws {
            let id = try ProfileID(provider: "openai", name: name)
            try await store.profiles.update { $0.profiles[id] = AuthProfile(id: id, credential: credential) }
            // The request path looks at the file again a millisecond after it last did.
            try await Task.sleep(for: .milliseconds(3))
        }

        func addKey(_ name: String) async throws {
            try await add(name, credential: .apiKey(APIKeyCredential(key: "sk-\(name)")))
        }

        func setOrder(_ names: [String]) async throws {
            try await store.state.update { $0.order["openai"] = names.map { "openai:\($0)" } }
            try await Task.sleep(for: .milliseconds(3))
        }

        func rateLimit(_ name: String, until: Int64) throws {
            runtime.recorder.markFailure(
                try ProfileID(provider: "openai", name: name), model: "gpt-4o-mini",
                classification: FailureClassification(reason: .rateLimit, retryAt: until), credentialFingerprint: nil)
        }
    }

    func withAgent(_ body: (Agent) async throws -> Void) async throws {
        try await withTemporaryDirectory { dir in
            let home = dir.home
            try home.create()
            var configuration = GatehouseConfiguration()
            configuration.agents = [.init(id: "main", isDefault: true)]
            let state = try GatewayState(home: home, configuration: configuration, environment: [:], logger: Logger(label: "test"))
            let runtime = try #require(try state.configuredRuntime(for: "main"))
            try await body(Agent(state: state, runtime: runtime, store: runtime.store))
        }
    }

    @Test("Requests without a session reuse one plan while nothing changes; a session's request is planned every time")
    func reuse() async throws {
        try await withAgent { agent in
            try await agent.addKey("a")
            let before = agent.plansMade
            for _ in 0..<20 { #expect(try agent.order() == ["openai:a"]) }
            #expect(agent.plansMade == before + 1)
            // Another connection's first request gets the plan the agent kept.
            #expect(try agent.plan(connection: ConnectionMemo()).candidates.map(\.profile.id.description) == ["openai:a"])
            #expect(agent.plansMade == before + 1)
            _ = try agent.order(session: "s1")
            _ = try agent.order(session: "s1")
            #expect(agent.plansMade == before + 3)
        }
    }

    @Test("A failure moves the profile back at once, its window's end brings it to the front again, a success too")
    func healthChanges() async throws {
        try await withAgent { agent in
            try await agent.addKey("a")
            try await agent.addKey("b")
            try await agent.setOrder(["a", "b"])
            #expect(try agent.order() == ["openai:a", "openai:b"])
            let made = agent.plansMade
            #expect(try agent.order() == ["openai:a", "openai:b"])
            #expect(agent.plansMade == made, "an explicit order of two profiles is reused")

            let until = WallClock.nowMillis() + 60_000
            try agent.rateLimit("a", until: until)
            #expect(try agent.order() == ["openai:b", "openai:a"])
            #expect(try agent.plan().candidates.last?.window?.until == until)
            // Up to the window's end the plan holds; at its end, a is first again.
            #expect(try agent.order(at: until - 1) == ["openai:b", "openai:a"])
            #expect(try agent.order(at: until) == ["openai:a", "openai:b"])

            // A success ends the window; a new failure starts another.
            agent.runtime.recorder.markGood(try ProfileID(provider: "openai", name: "a"), model: "gpt-4o-mini")
            #expect(try agent.order() == ["openai:a", "openai:b"])
            try agent.rateLimit("a", until: WallClock.nowMillis() + 60_000)
            #expect(try agent.order() == ["openai:b", "openai:a"])
            agent.runtime.recorder.markGood(try ProfileID(provider: "openai", name: "a"), model: "gpt-4o-mini")
            #expect(try agent.order() == ["openai:a", "openai:b"])

            // A use changes nothing a kept plan depends on here: the plan is reused.
            let beforeUse = agent.plansMade
            agent.runtime.recorder.markUsed(try ProfileID(provider: "openai", name: "b"))
            #expect(try agent.order() == ["openai:a", "openai:b"])
            #expect(agent.plansMade == beforeUse)
        }
    }

    @Test("Health another process wrote to auth-state.json makes a new plan, though the order in it did not change")
    func diskHealth() async throws {
        try await withAgent { agent in
            try await agent.addKey("a")
            try await agent.addKey("b")
            try await agent.setOrder(["a", "b"])
            #expect(try agent.order() == ["openai:a", "openai:b"])
            let until = WallClock.nowMillis() + 600_000
            try await agent.store.state.update { document in
                document.usageStats["openai:a"] = UsageStats(errorCount: 1, cooldownUntil: until, cooldownReason: .rateLimit)
            }
            try await Task.sleep(for: .milliseconds(3))
            #expect(try agent.order() == ["openai:b", "openai:a"])
            #expect(try agent.plan().candidates.last?.window?.until == until)
        }
    }

    @Test("A profile whose billing window ended waits for a probe: its plans are made anew")
    func billingProbe() async throws {
        try await withAgent { agent in
            try await agent.addKey("a")
            let a = try ProfileID(provider: "openai", name: "a")
            agent.runtime.recorder.markFailure(
                a, model: "gpt-4o-mini", classification: FailureClassification(reason: .billing), credentialFingerprint: nil)
            let window = try #require(try agent.plan().candidates.first?.window)
            #expect(window.reason == .billing)
            let made = agent.plansMade
            let probing = try agent.plan(at: window.until)
            #expect(probing.candidates.first?.awaitingProbe == true)
            _ = try agent.plan(at: window.until + 1)
            #expect(agent.plansMade == made + 2)
        }
    }

    @Test("Edits of the credential file and of the agent's order are followed")
    func fileChanges() async throws {
        try await withAgent { agent in
            try await agent.addKey("a")
            #expect(try agent.order() == ["openai:a"])
            try await agent.addKey("b")
            try await agent.setOrder(["b", "a"])
            #expect(try agent.order() == ["openai:b", "openai:a"])
            try await agent.setOrder(["a", "b"])
            #expect(try agent.order() == ["openai:a", "openai:b"])
            try await agent.store.profiles.update { $0.profiles[try ProfileID(provider: "openai", name: "a")] = nil }
            try await Task.sleep(for: .milliseconds(3))
            #expect(try agent.order() == ["openai:b"])
        }
    }

    @Test("The default order of several profiles is least recently used first: planned anew for every request")
    func roundRobin() async throws {
        try await withAgent { agent in
            try await agent.addKey("a")
            try await agent.addKey("b")
            var served: [String] = []
            let made = agent.plansMade
            for _ in 0..<4 {
                let first = try #require(try agent.order().first)
                served.append(first)
                agent.runtime.recorder.markUsed(try ProfileID(parsing: first))
                try await Task.sleep(for: .milliseconds(2))
            }
            #expect(Set(served) == ["openai:a", "openai:b"])
            #expect(served[0] != served[1] && served[1] != served[2] && served[2] != served[3])
            #expect(agent.plansMade == made + 4)
        }
    }

    @Test("A token stops being used when it expires, though nothing else changed")
    func tokenExpiry() async throws {
        try await withAgent { agent in
            let expires = WallClock.nowMillis() + 60_000
            try await agent.add("t", credential: .token(TokenCredential(token: "tok-1", expires: expires)))
            #expect(try agent.order(at: expires - 2) == ["openai:t"])
            #expect(try agent.order(at: expires - 1) == ["openai:t"])
            let plan = try agent.plan(at: expires)
            #expect(plan.candidates.isEmpty)
            #expect(plan.ineligible.map(\.credentialState) == [.expired])
        }
    }

    @Test("A secret read from a file is looked at for every request")
    func secretFile() async throws {
        try await withAgent { agent in
            let path = agent.state.home.path + "/openai.key"
            try AtomicFile.write(Array("sk-file".utf8), to: path)
            try await agent.add("f", credential: .apiKey(APIKeyCredential(keyRef: SecretRef(source: .file, id: path))))
            #expect(try agent.order() == ["openai:f"])
            unlink(path)
            let plan = try agent.plan()
            #expect(plan.candidates.isEmpty)
            #expect(plan.ineligible.map(\.credentialState) == [.unresolvedRef])
        }
    }

    @Test("A new configuration makes a new plan")
    func reload() async throws {
        try await withAgent { agent in
            try await agent.addKey("a")
            try await agent.addKey("b")
            let (a, b) = (try ProfileID(provider: "openai", name: "a"), try ProfileID(provider: "openai", name: "b"))
            var configuration = agent.state.current.configuration
            configuration.auth.order["openai"] = [a, b]
            try agent.state.install(configuration)
            #expect(try agent.order() == ["openai:a", "openai:b"])
            #expect(try agent.order() == ["openai:a", "openai:b"])
            configuration.auth.order["openai"] = [b]
            try agent.state.install(configuration)
            #expect(try agent.order() == ["openai:b"])
        }
    }
}
