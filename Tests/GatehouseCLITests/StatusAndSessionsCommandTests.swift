import Foundation
import GatehouseCore
import GatehouseStore
import GatehouseTestSupport
import Testing

/// `gatehouse auth status`, `auth reset` and `sessions ...`, run as a person runs them.
@Suite("gatehouse auth status and sessions")
struct StatusAndSessionsCommandTests {
    private func setUp(_ dir: TemporaryDirectory) async throws {
        for name in ["default", "backup"] {
            let added = try await gatehouse(home: dir.home.path, ["auth", "add", "anthropic", "--name", name, "--api-key-stdin"], stdin: "key-\(name)")
            #expect(added.status == 0, "\(added.stderr)")
        }
        let ordered = try await gatehouse(home: dir.home.path, ["auth", "order", "anthropic", "anthropic:default", "anthropic:backup"])
        #expect(ordered.status == 0)
    }

    /// Writes a window straight into auth-state.json, as another process would have.
    private func setWindow(_ dir: TemporaryDirectory, _ id: String, reason: String, untilFromNow ms: Int64, model: String? = nil) async throws {
        let store = try AgentStore(home: dir.home, agentID: "main")
        try await store.state.update { document in
            var stats = document.usageStats[id] ?? UsageStats()
            stats.errorCount = 1
            stats.failureCounts = [reason: 1]
            stats.cooldownUntil = WallClock.nowMillis() + ms
            stats.cooldownReason = FailureReason(rawValue: reason)
            stats.cooldownModel = model
            document.usageStats[id] = stats
        }
    }

    private func status(_ dir: TemporaryDirectory, _ extra: [String] = []) async throws -> JSONValue {
        let result = try await gatehouse(home: dir.home.path, ["auth", "status", "anthropic", "--json"] + extra)
        #expect(result.status == 0, "\(result.stderr)")
        return try #require(JSONValue.parse(result.stdout)["providers"]?.arrayValue?.first)
    }

    @Test("status explains the choice: order, skipped profiles, windows; reset ends a window")
    func statusExplains() async throws {
        try await withTemporaryDirectory { dir in
            try await setUp(dir)
            var report = try await status(dir)
            #expect(report["orderSource"] == "agent")
            #expect(report["next"]?["profile"] == "anthropic:default")
            #expect(report["next"]?["why"]?.stringValue?.contains("first usable in the agent's order") == true)

            try await setWindow(dir, "anthropic:default", reason: "rate_limit", untilFromNow: 60_000)
            report = try await status(dir)
            #expect(report["next"]?["profile"] == "anthropic:backup")
            #expect(report["next"]?["why"]?.stringValue?.contains("skipped anthropic:default (cooldown rate_limit") == true)
            let candidates = try #require(report["candidates"]?.arrayValue)
            #expect(candidates.map { $0["id"] } == ["anthropic:backup", "anthropic:default"])
            #expect(candidates[1]["window"]?["reason"] == "rate_limit")
            #expect(candidates[1]["window"]?["scope"] == "profile")
            #expect(candidates[1]["usableNow"] == false)

            let text = try await gatehouse(home: dir.home.path, ["auth", "status"])
            #expect(text.stdout.contains("next request: anthropic:backup"))

            let reset = try await gatehouse(home: dir.home.path, ["auth", "reset", "anthropic:default"])
            #expect(reset.status == 0)
            #expect(reset.stdout.contains("ended cooldown rate_limit"))
            #expect(try await status(dir)["next"]?["profile"] == "anthropic:default")
            let unknown = try await gatehouse(home: dir.home.path, ["auth", "reset", "anthropic:nope"])
            #expect(unknown.status != 0)
            #expect(unknown.stderr.contains("no profile anthropic:nope"))
        }
    }

    @Test("a window on one model leaves the others alone")
    func modelScope() async throws {
        try await withTemporaryDirectory { dir in
            try await setUp(dir)
            try await setWindow(dir, "anthropic:default", reason: "rate_limit", untilFromNow: 60_000, model: "claude-opus")
            #expect(try await status(dir, ["--model", "claude-opus"])["next"]?["profile"] == "anthropic:backup")
            #expect(try await status(dir, ["--model", "claude-haiku"])["next"]?["profile"] == "anthropic:default")
        }
    }

    @Test("every profile cooling: 429 with the soonest end, or a probe when one ends within 2 minutes")
    func allCooling() async throws {
        try await withTemporaryDirectory { dir in
            try await setUp(dir)
            try await setWindow(dir, "anthropic:default", reason: "rate_limit", untilFromNow: 600_000)
            try await setWindow(dir, "anthropic:backup", reason: "rate_limit", untilFromNow: 300_000)
            var next = try #require(try await status(dir)["next"])
            #expect(next["action"] == "unavailable")
            #expect(next["status"] == 429)
            let retryAt = try #require(next["retryAt"]?.stringValue.flatMap(ISO8601.parse))
            #expect(abs(retryAt - (WallClock.nowMillis() + 300_000)) < 5_000)
            #expect(next["profiles"]?.arrayValue?.count == 2)

            try await setWindow(dir, "anthropic:backup", reason: "overloaded", untilFromNow: 60_000)
            next = try #require(try await status(dir)["next"])
            #expect(next["action"] == "probe")
            #expect(next["profile"] == "anthropic:backup")
        }
    }

    @Test("sessions: pin, show, list, reset keeps a user pin, unpin, bad input")
    func sessions() async throws {
        try await withTemporaryDirectory { dir in
            try await setUp(dir)
            let home = dir.home.path
            var result = try await gatehouse(home: home, ["sessions", "pin", "chat-1", "anthropic:backup"])
            #expect(result.status == 0, "\(result.stderr)")
            #expect(result.stdout == "session chat-1 pinned to anthropic:backup\n")

            result = try await gatehouse(home: home, ["sessions", "show", "chat-1", "--json"])
            var json = try JSONValue.parse(result.stdout)
            #expect(json["pin"] == "anthropic:backup")
            #expect(json["source"] == "user")
            #expect(json["next"]?.arrayValue?.first?["next"]?["profile"] == "anthropic:backup")
            #expect(try await status(dir, ["--session", "chat-1"])["next"]?["why"]?.stringValue?.contains("pinned by user") == true)

            result = try await gatehouse(home: home, ["sessions", "reset", "chat-1"])
            #expect(result.stdout.contains("kept the user's pin to anthropic:backup"))

            result = try await gatehouse(home: home, ["sessions", "list", "--json"])
            json = try JSONValue.parse(result.stdout)
            #expect(json["sessions"]?.arrayValue?.map { $0["key"] } == ["chat-1"])

            result = try await gatehouse(home: home, ["sessions", "unpin", "chat-1"])
            #expect(result.stdout.contains("removed the pin to anthropic:backup (user)"))
            result = try await gatehouse(home: home, ["sessions", "show", "chat-1", "--json"])
            #expect(try JSONValue.parse(result.stdout)["pin"] == .null)

            result = try await gatehouse(home: home, ["sessions", "pin", "chat-1", "anthropic:ghost"])
            #expect(result.status != 0)
            #expect(result.stderr.contains("no profile anthropic:ghost"))
            result = try await gatehouse(home: home, ["sessions", "pin", "", "anthropic:backup"])
            #expect(result.status != 0)
            #expect(result.stderr.contains("must not be empty"))
        }
    }
}
