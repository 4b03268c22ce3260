import Foundation
import GatehouseCore
import GatehouseStore
import GatehouseTestSupport
import Testing

/// The field report "new sessions inherit an automatic pin to a rate-limited backup key", played on
/// the real files, with a restart in between (a new process reads everything back).
@Suite("Session pins")
struct SessionPinScenarioTests {
    let primary = try! ProfileID(parsing: "anthropic:default")
    let backup = try! ProfileID(parsing: "anthropic:backup")
    let resolver = StaticSecretResolver()

    /// Plans a request the way a fresh process would: everything read from disk.
    private func planRequest(_ home: GatehouseHome, session: String?) throws -> CandidatePlan {
        let store = try AgentStore(home: home, agentID: "main")
        let profiles = try store.profiles.read().sortedProfiles
        let state = try store.state.read()
        var stats: [ProfileID: UsageStats] = [:]
        for profile in profiles { stats[profile.id] = state.stats(for: profile.id) }
        let pin = try session.flatMap { try SessionStore(home: home, agentID: "main").entry($0)?.pin }
        return CandidatePlanner.plan(
            SelectionInput(
                provider: "anthropic", model: "claude-sonnet-4-5", profiles: profiles, storedOrder: state.order["anthropic"],
                stats: stats, hasSession: session != nil, sessionPin: pin, now: WallClock.nowMillis()),
            using: resolver)
    }

    private func chosen(_ plan: CandidatePlan) -> ProfileID? {
        if case .use(let id, _) = plan.decision { return id }
        return nil
    }

    private func setUp(_ home: GatehouseHome) async throws {
        let store = try AgentStore(home: home, agentID: "main")
        try await store.profiles.update { document in
            document.profiles[primary] = AuthProfile(id: primary, credential: .apiKey(.init(key: "k-default")))
            document.profiles[backup] = AuthProfile(id: backup, credential: .apiKey(.init(key: "k-backup")))
        }
        try await store.state.update { $0.order["anthropic"] = [primary.description, backup.description] }
    }

    @Test("an automatic pin to a rate-limited backup is replaced, dropped on reset, never inherited, and gone after a restart")
    func autoPinNeverSticks() async throws {
        try await withTemporaryDirectory { dir in
            let home = dir.home
            try await setUp(home)
            let sessions = SessionStore(home: home, agentID: "main")
            let recorder = HealthRecorder(store: try AgentStore(home: home, agentID: "main"), policy: CooldownPolicy())

            // The gateway failed over to the backup for session s1 and pinned it automatically; then
            // the backup hit its rate limit.
            try await sessions.apply(.setAuto(backup), session: "s1", now: WallClock.nowMillis())
            recorder.markFailure(backup, model: "claude-sonnet-4-5", classification: .init(reason: .rateLimit), credentialFingerprint: nil)
            try await recorder.flush()
            #expect(try sessions.entry("s1")?.pin == SessionPin(profile: backup.description, source: .auto, setAt: try sessions.entry("s1")?.pin?.setAt))

            // The same session: the default is chosen and the auto pin replaced.
            var plan = try planRequest(home, session: "s1")
            #expect(chosen(plan) == primary)
            #expect(plan.pinAction == .replaceAutoWith(primary))
            try await sessions.apply(plan.pinAction, session: "s1", now: WallClock.nowMillis())
            #expect(try sessions.entry("s1")?.pin?.profile == primary.description)

            // Put the stale auto pin back, then reset the session: the pin is gone.
            try await sessions.apply(.replaceAutoWith(backup), session: "s1", now: WallClock.nowMillis())
            #expect(try await sessions.reset("s1", now: WallClock.nowMillis()) == nil)
            #expect(try sessions.entry("s1")?.pin == nil)
            #expect(chosen(try planRequest(home, session: "s1")) == primary)

            // A new session inherits nothing.
            plan = try planRequest(home, session: "s2")
            #expect(chosen(plan) == primary)
            #expect(plan.pinAction == .setAuto(primary))
            #expect(try sessions.entry("s2") == nil)

            // A restart: a new process reads the files and chooses the default too.
            try await sessions.apply(.replaceAutoWith(backup), session: "s3", now: WallClock.nowMillis())
            let status = try await gatehouse(home: home.path, ["auth", "status", "anthropic", "--session", "s3", "--json", "--model", "claude-sonnet-4-5"])
            #expect(status.status == 0, "\(status.stderr)")
            let next = try JSONValue.parse(status.stdout)["providers"]?.arrayValue?.first?["next"]
            #expect(next?["profile"]?.stringValue == primary.description)
        }
    }

    @Test("a user's pin survives reset, is skipped while its profile cools, and is used again after")
    func userPinSurvives() async throws {
        try await withTemporaryDirectory { dir in
            let home = dir.home
            try await setUp(home)
            let sessions = SessionStore(home: home, agentID: "main")
            try await sessions.pin("s1", profile: backup, now: WallClock.nowMillis())
            #expect(chosen(try planRequest(home, session: "s1")) == backup)

            // The backup cools down for a short while (the upstream said: come back in 1 s).
            let recorder = HealthRecorder(store: try AgentStore(home: home, agentID: "main"), policy: CooldownPolicy())
            recorder.markFailure(
                backup, model: nil, classification: .init(reason: .overloaded, retryAt: WallClock.nowMillis() + 1_000),
                credentialFingerprint: nil)
            try await recorder.flush()

            #expect(try await sessions.reset("s1", now: WallClock.nowMillis())?.profile == backup.description)
            var plan = try planRequest(home, session: "s1")
            #expect(chosen(plan) == primary)
            #expect(plan.pinAction == .skipUserPin)
            try await sessions.apply(plan.pinAction, session: "s1", now: WallClock.nowMillis())
            #expect(try sessions.entry("s1")?.pin == SessionPin(profile: backup.description, source: .user, setAt: try sessions.entry("s1")?.pin?.setAt))
            // An automatic choice never overwrites a person's pin.
            try await sessions.apply(.setAuto(primary), session: "s1", now: WallClock.nowMillis())
            #expect(try sessions.entry("s1")?.pin?.source == .user)

            try await Task.sleep(for: .milliseconds(1_100))
            plan = try planRequest(home, session: "s1")
            #expect(chosen(plan) == backup)
            #expect(plan.pinAction == .keep)
        }
    }

    @Test("a pin to a profile that was removed is dropped")
    func pinToRemovedProfile() async throws {
        try await withTemporaryDirectory { dir in
            let home = dir.home
            try await setUp(home)
            let sessions = SessionStore(home: home, agentID: "main")
            try await sessions.pin("s1", profile: backup, now: WallClock.nowMillis())
            try await AgentStore(home: home, agentID: "main").profiles.update { $0.profiles[backup] = nil }
            let plan = try planRequest(home, session: "s1")
            #expect(chosen(plan) == primary)
            #expect(plan.pinAction == .drop(profile: backup.description, reason: "profile anthropic:backup no longer exists", replacement: primary))
            try await sessions.apply(plan.pinAction, session: "s1", now: WallClock.nowMillis())
            #expect(try sessions.entry("s1")?.pin == SessionPin(profile: primary.description, source: .auto, setAt: try sessions.entry("s1")?.pin?.setAt))
        }
    }

    @Test("sessions.json keeps unknown fields and refuses a bad pin source")
    func sessionsFile() async throws {
        try await withTemporaryDirectory { dir in
            let home = dir.home
            let path = home.sessionsPath("main")
            try FileIO.makeDirectories(FileIO.parentDirectory(of: path))
            try AtomicFile.write(Array(#"{"version":1,"sessions":{"s1":{"title":"chat","authProfileOverride":"anthropic:default","authProfileOverrideSource":"auto"}},"other":1}"#.utf8), to: path)
            let sessions = SessionStore(home: home, agentID: "main")
            #expect(try await sessions.reset("s1", now: 5) == nil)
            let json = try JSONValue.parse(FileIO.read(path)!)
            #expect(json["sessions"]?["s1"]?["title"] == "chat")
            #expect(json["sessions"]?["s1"]?["authProfileOverride"] == nil)
            #expect(json["other"] == 1)

            try AtomicFile.write(Array(#"{"version":1,"sessions":{"s1":{"authProfileOverrideSource":"robot"}}}"#.utf8), to: path)
            #expect(throws: StoreError.self) { try sessions.entry("s1") }
        }
    }
}
