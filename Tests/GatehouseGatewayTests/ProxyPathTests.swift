import AsyncHTTPClient
import Foundation
import GatehouseCore
import GatehouseStore
import GatehouseTestSupport
import NIOCore
import NIOHTTP1
import Testing

/// The request path end to end: a real `gatehouse gateway` in front of `gatehouse-mock-upstream`,
/// profiles added through the real CLI, every request over loopback HTTP.
@Suite("gateway: proxy path", .serialized)
struct ProxyPathTests {
    // MARK: 1. Plain and streaming, both wires

    @Test("OpenAI wire, plain and streamed: the answer passes through, the credential is swapped, the model is the provider's id")
    func openAIPlainAndStream() async throws {
        try await withWorld { world in
            try await world.addKey("openai", "k1", key: "key-1")
            try await GatewayProcess.with(home: world.home) { gateway in
                let plain = try await gateway.send(.POST, "/v1/chat/completions", body: Body.chat("openai/gpt-4o"))
                #expect(plain.status == 200, "\(plain.body)")
                #expect(plain.header("X-Gatehouse-Profile") == "openai:k1")
                #expect(plain.header("X-Gatehouse-Attempts") == "1")
                #expect(plain.header("X-Gatehouse-Request-Id")?.hasPrefix("gh-") == true)
                #expect(plain.header("content-type")?.hasPrefix("application/json") == true)
                #expect(plain.json?["choices"]?.arrayValue?.first?["message"]?["content"] == "Hello from the mock.")
                #expect(plain.json?["object"] == "chat.completion")

                var seen = try await world.lastRequest()
                #expect(seen["path"] == "/v1/chat/completions")
                #expect(seen["model"] == "gpt-4o", "the mock must see the provider-side id, not openai/gpt-4o")
                #expect(seen["key"] == "key-1")
                #expect(seen["stream"] == false)
                let values = seen["headerValues"]?.objectValue ?? [:]
                #expect(values["authorization"] == "Bearer key-1")
                #expect(
                    !values.values.contains { $0.stringValue?.contains(gateway.token) == true },
                    "the gateway token leaked upstream: \(values)")
                // The body went up intact apart from the model.
                let forwarded = try #require(seen["body"]?.stringValue.flatMap { try? JSONValue.parse($0) })
                #expect(forwarded["messages"]?.arrayValue?.first?["content"] == "Say hello.")

                let streamed = try await gateway.send(.POST, "/v1/chat/completions", body: Body.chat("openai/gpt-4o-mini", stream: true))
                #expect(streamed.status == 200, "\(streamed.body)")
                #expect(streamed.header("content-type")?.hasPrefix("text/event-stream") == true)
                #expect(streamed.header("X-Gatehouse-Profile") == "openai:k1")
                let events = streamed.events
                #expect(events.count >= 3, "\(streamed.body)")
                #expect(events.last?.data == "[DONE]", "\(streamed.body)")
                #expect(!streamed.body.contains("\"error\""), "\(streamed.body)")
                let text = events.dropLast().compactMap { event in
                    (try? JSONValue.parse(event.data))?["choices"]?.arrayValue?.first?["delta"]?["content"]?.stringValue
                }.joined()
                #expect(text == "Hello from the mock.")
                seen = try await world.lastRequest()
                #expect(seen["model"] == "gpt-4o-mini")
                #expect(seen["stream"] == true)
                #expect(seen["key"] == "key-1")
            }
        }
    }

    @Test("A success is recorded for the profile that served, after a plain answer and after a stream: lastGood names it")
    func successIsRecorded() async throws {
        try await withWorld { world in
            try await world.addKey("openai", "k1", key: "key-1")
            try await world.addKey("anthropic", "a1", key: "key-a1")
            try await GatewayProcess.with(home: world.home) { gateway in
                #expect(world.authState?["lastGood"]?["openai"] == nil)
                let plain = try await gateway.send(.POST, "/v1/chat/completions", body: Body.chat("openai/gpt-4o"))
                #expect(plain.status == 200, "\(plain.body)")
                #expect(
                    await eventually(timeout: .seconds(3)) { world.authState?["lastGood"]?["openai"] == "openai:k1" },
                    "\(String(describing: world.authState))")

                #expect(world.authState?["lastGood"]?["anthropic"] == nil)
                let streamed = try await gateway.send(
                    .POST, "/v1/messages", body: Body.messages("anthropic/claude-sonnet-4-5", stream: true))
                #expect(streamed.status == 200, "\(streamed.body)")
                #expect(streamed.events.compactMap(\.event).last == "message_stop", "\(streamed.body)")
                #expect(
                    await eventually(timeout: .seconds(3)) { world.authState?["lastGood"]?["anthropic"] == "anthropic:a1" },
                    "\(String(describing: world.authState))")
            }
        }
    }

    @Test("Anthropic wire, plain and streamed: x-api-key swapped for the profile's key, anthropic-version passes through")
    func anthropicPlainAndStream() async throws {
        try await withWorld { world in
            try await world.addKey("anthropic", "a1", key: "key-a1")
            try await GatewayProcess.with(home: world.home) { gateway in
                // The client authenticates the way the Anthropic SDK does: x-api-key.
                let plain = try await gateway.send(
                    .POST, "/v1/messages", body: Body.messages("anthropic/claude-sonnet-4-5"),
                    headers: [("anthropic-version", "2023-01-01"), ("anthropic-beta", "tools-2024-04-04")], authHeader: "x-api-key")
                #expect(plain.status == 200, "\(plain.body)")
                #expect(plain.header("X-Gatehouse-Profile") == "anthropic:a1")
                #expect(plain.json?["type"] == "message")
                #expect(plain.json?["content"]?.arrayValue?.first?["text"] == "Hello from the mock.")

                var seen = try await world.lastRequest()
                #expect(seen["path"] == "/v1/messages")
                #expect(seen["model"] == "claude-sonnet-4-5")
                #expect(seen["key"] == "key-a1")
                let values = seen["headerValues"]?.objectValue ?? [:]
                #expect(values["x-api-key"] == "key-a1")
                #expect(values["authorization"] == nil, "no Authorization should go upstream on an x-api-key provider: \(values)")
                #expect(values["anthropic-version"] == "2023-01-01")
                #expect(values["anthropic-beta"] == "tools-2024-04-04")
                #expect(
                    !values.values.contains { $0.stringValue?.contains(gateway.token) == true },
                    "the gateway token leaked upstream: \(values)")

                // Bearer from the client this time; still never forwarded.
                let streamed = try await gateway.send(
                    .POST, "/v1/messages", body: Body.messages("anthropic/claude-sonnet-4-5", stream: true),
                    headers: [("anthropic-version", "2023-06-01")])
                #expect(streamed.status == 200, "\(streamed.body)")
                #expect(streamed.header("content-type")?.hasPrefix("text/event-stream") == true)
                let names = streamed.events.compactMap(\.event)
                #expect(names.first == "message_start", "\(streamed.body)")
                #expect(names.last == "message_stop", "\(streamed.body)")
                #expect(!names.contains("error"))
                let text = streamed.events.filter { $0.event == "content_block_delta" }.compactMap {
                    (try? JSONValue.parse($0.data))?["delta"]?["text"]?.stringValue
                }.joined()
                #expect(text == "Hello from the mock.")
                seen = try await world.lastRequest()
                #expect(seen["stream"] == true)
                #expect(seen["headerValues"]?["authorization"] == nil)
                #expect(seen["headerValues"]?["x-api-key"] == "key-a1")
                // Each request's own forwarded headers, though the credential's head is made once.
                #expect(seen["headerValues"]?["anthropic-version"] == "2023-06-01")
                #expect(seen["headerValues"]?["anthropic-beta"] == nil)

                // A key replaced on disk goes up with the next request.
                let replaced = try await gatehouse(
                    home: world.home, ["auth", "add", "anthropic", "--name", "a1", "--api-key-stdin", "--replace"], stdin: "key-a1-new")
                try #require(replaced.status == 0, "\(replaced.stderr)")
                // A header that changes with every request goes up with its own request.
                for key in ["idem-1", "idem-2"] {
                    let after = try await gateway.send(
                        .POST, "/v1/messages", body: Body.messages("anthropic/claude-sonnet-4-5"),
                        headers: [("anthropic-version", "2023-06-01"), ("Idempotency-Key", key)])
                    #expect(after.status == 200, "\(after.body)")
                    let values = try await world.lastRequest()["headerValues"]
                    #expect(values?["x-api-key"] == "key-a1-new")
                    #expect(values?["idempotency-key"] == .string(key))
                    #expect(values?["anthropic-version"] == "2023-06-01")
                }
            }
        }
    }

    // MARK: 2. Failover

    @Test("429 on the first key: the client gets 200 from the second, Retry-After sets the cooldown, the next request skips k1")
    func failoverOnRateLimit() async throws {
        try await withWorld { world in
            try await world.addKey("openai", "k1", key: "key-1")
            try await world.addKey("openai", "k2", key: "key-2")
            try await world.order("openai", ["openai:k1", "openai:k2"])
            try await world.mock.setKeyBehaviour("key-1", ["status": 429, "retryAfter": "120"])
            try await GatewayProcess.with(home: world.home) { gateway in
                let before = nowMillis()
                let first = try await gateway.send(.POST, "/v1/chat/completions", body: Body.chat("openai/gpt-4o"))
                #expect(first.status == 200, "\(first.body)")
                #expect(first.header("X-Gatehouse-Profile") == "openai:k2")
                #expect(first.header("X-Gatehouse-Attempts") == "2")
                #expect(first.json?["error"] == nil)
                #expect(first.json?["choices"]?.arrayValue?.first?["message"]?["content"] == "Hello from the mock.")

                let cooled = await eventually { world.stats("openai:k1")?["cooldownUntil"]?.intValue != nil }
                #expect(cooled, "auth-state.json never showed k1's cooldown: \(String(describing: world.authState))")
                let stats = try #require(world.stats("openai:k1"))
                #expect(stats["cooldownReason"] == "rate_limit")
                #expect(stats["cooldownModel"] == "gpt-4o")
                let until = try #require(stats["cooldownUntil"]?.intValue)
                // Retry-After: 120 honoured (not the 30 s ladder step).
                #expect(until >= before + 115_000 && until <= nowMillis() + 121_000, "cooldownUntil \(until - before) ms after the request")

                let second = try await gateway.send(.POST, "/v1/chat/completions", body: Body.chat("openai/gpt-4o"))
                #expect(second.status == 200)
                #expect(second.header("X-Gatehouse-Profile") == "openai:k2")
                #expect(second.header("X-Gatehouse-Attempts") == "1")
                #expect(try await world.calls("key-1") == 1, "k1 was called again while cooling")
                #expect(try await world.calls("key-2") == 2)
            }
        }
    }

    // MARK: 3. Every key cooling

    @Test("Every key 429: the client gets the last upstream 429, then the gateway's own 429 with Retry-After and per-profile reasons")
    func allKeysCooling() async throws {
        try await withWorld { world in
            try await world.addKey("openai", "k1", key: "key-1")
            try await world.addKey("openai", "k2", key: "key-2")
            try await world.order("openai", ["openai:k1", "openai:k2"])
            // Beyond the 2 min probe horizon, so the second request gets no probe.
            try await world.mock.setKeyBehaviour("key-1", ["status": 429, "retryAfter": "600"])
            try await world.mock.setKeyBehaviour("key-2", ["status": 429, "retryAfter": "900"])
            try await GatewayProcess.with(home: world.home) { gateway in
                let first = try await gateway.send(.POST, "/v1/chat/completions", body: Body.chat("openai/gpt-4o"))
                #expect(first.status == 429)
                #expect(first.header("X-Gatehouse-Attempts") == "2")
                // The last upstream answer, as it was: the mock's own wording and Retry-After.
                #expect(first.errorMessage?.contains("Rate limit reached") == true, "\(first.body)")
                #expect(first.header("retry-after") == "900")

                let second = try await gateway.send(.POST, "/v1/chat/completions", body: Body.chat("openai/gpt-4o"))
                #expect(second.status == 429, "\(second.body)")
                let retryAfter = try #require(Int(second.header("retry-after") ?? ""), "no Retry-After on the gateway's 429")
                #expect((590...600).contains(retryAfter), "Retry-After \(retryAfter) should be the soonest end (k1, ~600 s)")
                #expect(second.json?["error"]?["type"] == "rate_limit_error")
                let message = second.errorMessage ?? ""
                #expect(message.contains("openai:k1") && message.contains("openai:k2"), "\(message)")
                let profiles = second.json?["error"]?["profiles"]?.arrayValue ?? []
                #expect(Set(profiles.compactMap { $0["profile"]?.stringValue }) == ["openai:k1", "openai:k2"], "\(second.body)")
                #expect(profiles.allSatisfy { $0["reason"] == "rate_limit" && $0["until"]?.stringValue != nil }, "\(second.body)")
                // Nothing went upstream for the second request.
                #expect(try await world.calls("key-1") == 1)
                #expect(try await world.calls("key-2") == 1)

                // The Anthropic route answers the same state in its own shape.
                let anthropic = try await gateway.send(.POST, "/v1/messages", body: Body.messages("anthropic/claude-sonnet-4-5"))
                // No credential for the provider at all: 503 (not 401, which SDKs read as a bad gateway token).
                #expect(anthropic.status == 503, "no anthropic profile: \(anthropic.body)")
                #expect(anthropic.json?["error"]?["message"]?.stringValue?.contains("no usable credential for provider anthropic") == true)
                #expect(anthropic.json?["type"] == "error")
            }
        }
    }

    // MARK: 4. format errors

    @Test("A 400 (format) goes back at once: no failover, no cooldown")
    func formatErrorGoesBack() async throws {
        try await withWorld { world in
            try await world.addKey("openai", "k1", key: "key-1")
            try await world.addKey("openai", "k2", key: "key-2")
            try await world.order("openai", ["openai:k1", "openai:k2"])
            try await world.mock.setKeyBehaviour("key-1", ["status": 400])
            try await GatewayProcess.with(home: world.home) { gateway in
                let answer = try await gateway.send(.POST, "/v1/chat/completions", body: Body.chat("openai/gpt-4o"))
                #expect(answer.status == 400)
                #expect(answer.header("X-Gatehouse-Attempts") == "1")
                #expect(answer.errorMessage?.contains("Invalid value for 'messages'") == true, "\(answer.body)")
                #expect(try await world.calls("key-2") == 0, "a format error must not fail over")
                try await Task.sleep(for: .milliseconds(300))
                #expect(world.stats("openai:k1")?["cooldownUntil"] == nil, "a format error must not cool the profile")
                #expect(world.stats("openai:k1")?["disabledUntil"] == nil)
            }
        }
    }

    // MARK: 5. OAuth refresh on 401

    @Test("401 on an OAuth profile: one forced refresh, the retry succeeds, the new token is stored")
    func oauthRefreshOn401() async throws {
        try await withWorld(extraProviders: { mock in
            [
                "openai": [
                    "baseUrl": .string(mock.baseURL + "/v1"),
                    "oauth": ["tokenUrl": .string(mock.baseURL + "/oauth/token"), "clientId": "gatehouse-test", "encoding": "form"],
                ]
            ]
        }) { world in
            let account = try await world.mock.account(email: "me@example.com")
            // The stored access token is stale: the mock rejects it (401, invalid key wording).
            try await world.mock.setKeyBehaviour(account.access, ["reject": true])
            let login: JSONValue = [
                "access": .string(account.access), "refresh": .string(account.refresh), "expires": .int(nowMillis() + 3_600_000),
                "email": "me@example.com",
            ]
            try await world.cli(
                ["auth", "add", "openai", "--name", "me", "--oauth-json", "-"], stdin: login.serializedString(pretty: false))
            try await GatewayProcess.with(home: world.home) { gateway in
                let answer = try await gateway.send(.POST, "/v1/chat/completions", body: Body.chat("openai/gpt-4o"))
                #expect(answer.status == 200, "\(answer.body)")
                #expect(answer.header("X-Gatehouse-Profile") == "openai:me")
                let counters = try await world.mock.counters()
                #expect(counters["oauth.refresh"] == 1, "\(counters)")
                #expect(counters["chat.requests.\(account.access)"] == 1)
                let stored = world.authProfiles?["profiles"]?["openai:me"]
                let newAccess = try #require(stored?["access"]?.stringValue)
                #expect(newAccess != account.access)
                #expect(stored?["refresh"]?.stringValue != account.refresh, "the single-use refresh token must have been replaced")
                #expect(try await world.lastRequest()["key"]?.stringValue == newAccess, "the retry must carry the new access token")
                // A second request uses the new token directly.
                let again = try await gateway.send(.POST, "/v1/chat/completions", body: Body.chat("openai/gpt-4o"))
                #expect(again.status == 200)
                #expect(try await world.mock.counters()["oauth.refresh"] == 1)
                // With a pooled connection up and the token at hand, the request goes out with no
                // task; a rejection is handled the same way (one refresh, one retry) whichever way it
                // went.
                try await world.mock.setKeyBehaviour(newAccess, ["reject": true])
                let third = try await gateway.send(.POST, "/v1/chat/completions", body: Body.chat("openai/gpt-4o"))
                #expect(third.status == 200, "\(third.body)")
                #expect(third.header("X-Gatehouse-Attempts") == "2", "the rejected attempt and its retry")
                #expect(try await world.mock.counters()["oauth.refresh"] == 2)
                let refreshedAgain = try #require(world.authProfiles?["profiles"]?["openai:me"]?["access"]?.stringValue)
                #expect(refreshedAgain != newAccess)
                #expect(try await world.lastRequest()["key"]?.stringValue == refreshedAgain)
                try await Task.sleep(for: .milliseconds(200))
                #expect(
                    world.stats("openai:me")?["disabledUntil"] == nil,
                    "a refreshed login must not be disabled: \(String(describing: world.stats("openai:me")))")
            }
        }
    }

    // MARK: 6. Sessions (field report: session-auth-override-inheritance)

    @Test("Sessions: a failing auto pin is replaced, new sessions do not inherit it, a user pin is honoured and kept while cooling")
    func sessionPins() async throws {
        try await withWorld { world in
            try await world.addKey("openai", "k1", key: "key-1")
            try await world.addKey("openai", "k2", key: "key-2")
            try await world.order("openai", ["openai:k1", "openai:k2"])
            try await GatewayProcess.with(home: world.home) { gateway in
                func ask(_ session: String) async throws -> GatewayProcess.Answer {
                    let answer = try await gateway.send(
                        .POST, "/v1/chat/completions", body: Body.chat("openai/gpt-4o"), headers: [("X-Gatehouse-Session", session)])
                    #expect(answer.status == 200, "session \(session): \(answer.body)")
                    return answer
                }
                // s1 starts on k1 and is auto-pinned to it.
                #expect(try await ask("s1").header("X-Gatehouse-Profile") == "openai:k1")
                #expect(world.pin("s1") == ("openai:k1", "auto"))

                // k1 starts failing: s1 fails over to k2 and its auto pin follows.
                try await world.mock.setKeyBehaviour("key-1", ["status": 429, "retryAfter": "600"])
                #expect(try await ask("s1").header("X-Gatehouse-Profile") == "openai:k2")
                #expect(world.pin("s1") == ("openai:k2", "auto"), "\(String(describing: world.sessions))")

                // k1 recovers (a person resets it while the gateway runs).
                try await world.mock.post("/admin/reset")
                try await world.cli(["auth", "reset", "openai:k1"])
                // A new session does not inherit s1's pin to the backup key: it starts on k1.
                let fresh = await eventually {
                    (try? await gateway.send(
                        .POST, "/v1/chat/completions", body: Body.chat("openai/gpt-4o"),
                        headers: [("X-Gatehouse-Session", "probe-\(UUID())")]))?.header("X-Gatehouse-Profile") == "openai:k1"
                }
                #expect(fresh, "the gateway never took the reset of openai:k1 into account")
                #expect(try await ask("s2").header("X-Gatehouse-Profile") == "openai:k1", "a new session inherited an auto pin")
                #expect(world.pin("s2") == ("openai:k1", "auto"))
                // s1 keeps its own auto pin (cache locality).
                #expect(try await ask("s1").header("X-Gatehouse-Profile") == "openai:k2")

                // A user pin set by the CLI while the gateway runs is honoured on the next request.
                try await world.cli(["sessions", "pin", "s2", "openai:k2"])
                #expect(world.pin("s2") == ("openai:k2", "user"))
                #expect(try await ask("s2").header("X-Gatehouse-Profile") == "openai:k2")
                #expect(world.pin("s2") == ("openai:k2", "user"))

                // k2 cools: the user pin is skipped (k1 answers) but kept.
                try await world.mock.setKeyBehaviour("key-2", ["status": 429, "retryAfter": "600"])
                let failedOver = try await ask("s2")
                #expect(failedOver.header("X-Gatehouse-Profile") == "openai:k1")
                #expect(world.pin("s2") == ("openai:k2", "user"), "a user pin must survive its profile cooling")
                let k2Calls = try await world.calls("key-2")
                let skipped = try await ask("s2")
                #expect(skipped.header("X-Gatehouse-Profile") == "openai:k1")
                #expect(skipped.header("X-Gatehouse-Attempts") == "1", "the cooling user pin must be skipped, not tried")
                #expect(try await world.calls("key-2") == k2Calls)
                #expect(world.pin("s2") == ("openai:k2", "user"))
            }
            // After a restart a new session still starts on the primary key.
            try await world.mock.post("/admin/reset")
            try await world.cli(["auth", "reset", "openai:k2"])
            try await GatewayProcess.with(home: world.home) { gateway in
                let answer = try await gateway.send(
                    .POST, "/v1/chat/completions", body: Body.chat("openai/gpt-4o"), headers: [("X-Gatehouse-Session", "s3")])
                #expect(answer.header("X-Gatehouse-Profile") == "openai:k1")
                let user = try await gateway.send(
                    .POST, "/v1/chat/completions", body: Body.chat("openai/gpt-4o"), headers: [("X-Gatehouse-Session", "s2")])
                #expect(user.header("X-Gatehouse-Profile") == "openai:k2", "the user pin must survive a restart")
            }
        }
    }

    // MARK: 7. A stream cut mid-answer

    @Test("A stream cut mid-answer ends in the wire's error event, never a clean end, and records a timeout")
    func streamCut() async throws {
        try await withWorld { world in
            try await world.addKey("openai", "k1", key: "key-1")
            try await world.addKey("anthropic", "a1", key: "key-a1")
            try await world.mock.setKeyBehaviour("key-1", ["cutAfterEvents": 2])
            try await world.mock.setKeyBehaviour("key-a1", ["cutAfterEvents": 2])
            try await GatewayProcess.with(home: world.home) { gateway in
                let openAI = try await gateway.send(.POST, "/v1/chat/completions", body: Body.chat("openai/gpt-4o", stream: true))
                #expect(openAI.status == 200)
                #expect(!openAI.body.contains("[DONE]"), "\(openAI.body)")
                let events = openAI.events
                #expect(events.count == 3, "two events and the error: \(openAI.body)")
                let error = try #require(events.last.flatMap { try? JSONValue.parse($0.data) }, "\(openAI.body)")
                #expect(error["error"]?["message"]?.stringValue != nil, "\(openAI.body)")
                #expect(events.last?.event == nil)

                let anthropic = try await gateway.send(
                    .POST, "/v1/messages", body: Body.messages("anthropic/claude-sonnet-4-5", stream: true))
                #expect(anthropic.status == 200)
                let names = anthropic.events.map(\.event)
                #expect(!names.contains("message_stop"), "\(anthropic.body)")
                #expect(names.last == "error", "\(anthropic.body)")
                let anthropicError = try #require(anthropic.events.last.flatMap { try? JSONValue.parse($0.data) })
                #expect(anthropicError["type"] == "error")
                #expect(anthropicError["error"]?["message"]?.stringValue != nil)

                let recorded = await eventually {
                    world.stats("openai:k1")?["failureCounts"]?["timeout"] != nil
                        && world.stats("anthropic:a1")?["failureCounts"]?["timeout"] != nil
                }
                #expect(recorded, "\(String(describing: world.authState))")
                #expect(world.stats("openai:k1")?["cooldownReason"] == "timeout")
                #expect(world.stats("anthropic:a1")?["cooldownReason"] == "timeout")

                // Each request's one line is written when its stream ends, and says it was cut.
                // (Request lines are gathered for a few milliseconds before they are written.)
                let requestLines = { gateway.process.stderrSoFar.split(separator: "\n").filter { $0.hasSuffix("] request") } }
                #expect(await eventually { requestLines().count >= 2 }, "\(requestLines())")
                let lines = requestLines()
                #expect(lines.count == 2, "\(lines)")
                #expect(lines.allSatisfy { $0.contains("status=200") && $0.contains("error=the upstream cut the answer") }, "\(lines)")
            }
        }
    }

    @Test(
        "A stream that ends cleanly without its final event, whole in one read or trickling, ends in the wire's error event and records a timeout",
        arguments: [0, 30])
    func streamEndsWithoutFinalEvent(eventDelay: Int) async throws {
        try await withWorld { world in
            try await world.addKey("openai", "k1", key: "key-1")
            try await world.addKey("anthropic", "a1", key: "key-a1")
            try await world.mock.setKeyBehaviour("key-1", ["endAfterEvents": 2, "eventDelayMs": .int(Int64(eventDelay))])
            try await world.mock.setKeyBehaviour("key-a1", ["endAfterEvents": 2, "eventDelayMs": .int(Int64(eventDelay))])
            try await GatewayProcess.with(home: world.home) { gateway in
                let openAI = try await gateway.send(.POST, "/v1/chat/completions", body: Body.chat("openai/gpt-4o", stream: true))
                #expect(openAI.status == 200)
                #expect(!openAI.body.contains("[DONE]"), "\(openAI.body)")
                #expect(openAI.events.count == 3, "two events and the error: \(openAI.body)")
                let error = try #require(openAI.events.last.flatMap { try? JSONValue.parse($0.data) }, "\(openAI.body)")
                #expect(error["error"]?["message"]?.stringValue?.contains("without its final event") == true, "\(openAI.body)")

                let anthropic = try await gateway.send(
                    .POST, "/v1/messages", body: Body.messages("anthropic/claude-sonnet-4-5", stream: true))
                #expect(anthropic.status == 200)
                let names = anthropic.events.map(\.event)
                #expect(names.count == 3 && names.last == "error" && !names.contains("message_stop"), "\(anthropic.body)")

                let recorded = await eventually {
                    world.stats("openai:k1")?["cooldownReason"] == "timeout" && world.stats("anthropic:a1")?["cooldownReason"] == "timeout"
                }
                #expect(recorded, "\(String(describing: world.authState))")
                #expect(world.authState?["lastGood"]?["openai"] == nil, "a cut stream is no success")
                let requestLines = { gateway.process.stderrSoFar.split(separator: "\n").filter { $0.hasSuffix("] request") } }
                #expect(await eventually { requestLines().count >= 2 }, "\(requestLines())")
                #expect(
                    requestLines().allSatisfy { $0.contains("error=the upstream stream ended without its final event") },
                    "\(requestLines())")
            }
        }
    }

    @Test("A stream that came whole goes out in one write with its length; whole without its final event, it ends in the error event")
    func wholeStreamInOneWrite() async throws {
        let events =
            #"data: {"choices":[{"delta":{"content":"Hel"}}]}"# + "\n\n" + #"data: {"choices":[{"delta":{"content":"lo"}}]}"# + "\n\n"
        try await OneWriteUpstream.with(contentType: "text/event-stream") { credential in
            credential == "Bearer key-1" ? events + "data: [DONE]\n\n" : events
        } _: { upstream in
            try await withWorld(extraProviders: { _ in ["openai": ["baseUrl": .string(upstream.baseURL + "/v1"), "requiresAuth": true]] }) {
                world in
                try await world.addKey("openai", "k1", key: "key-1")
                try await world.addKey("openai", "k2", key: "key-2")
                try await world.order("openai", ["openai:k1", "openai:k2"])
                try await GatewayProcess.with(home: world.home) { gateway in
                    let whole = try await gateway.send(.POST, "/v1/chat/completions", body: Body.chat("openai/gpt-4o", stream: true))
                    #expect(whole.status == 200)
                    #expect(whole.body == events + "data: [DONE]\n\n")
                    #expect(whole.header("content-type") == "text/event-stream")
                    #expect(whole.header("content-length") == String(whole.body.utf8.count), "one write with its length")
                    #expect(whole.header("transfer-encoding") == nil)
                    #expect(
                        await eventually(timeout: .seconds(3)) { world.authState?["lastGood"]?["openai"] == "openai:k1" },
                        "\(String(describing: world.authState))")

                    // k2's upstream ends the stream cleanly without its final event.
                    try await world.order("openai", ["openai:k2", "openai:k1"])
                    let cut = try await gateway.send(.POST, "/v1/chat/completions", body: Body.chat("openai/gpt-4o", stream: true))
                    #expect(cut.status == 200)
                    #expect(cut.header("X-Gatehouse-Profile") == "openai:k2")
                    #expect(cut.body.hasPrefix(events), "the events that came go out first: \(cut.body)")
                    #expect(cut.events.count == 3, "\(cut.body)")
                    let error = try #require(cut.events.last.flatMap { try? JSONValue.parse($0.data) }, "\(cut.body)")
                    #expect(error["error"]?["message"]?.stringValue?.contains("without its final event") == true, "\(cut.body)")
                    #expect(
                        await eventually { world.stats("openai:k2")?["cooldownReason"] == "timeout" },
                        "\(String(describing: world.authState))")
                }
            }
        }
    }

    @Test("A trickling stream is relayed as it comes, chunked")
    func tricklingStreamIsChunked() async throws {
        try await withWorld { world in
            try await world.addKey("openai", "k1", key: "key-1")
            try await world.mock.setKeyBehaviour("key-1", ["eventDelayMs": 20])
            try await GatewayProcess.with(home: world.home) { gateway in
                let trickling = try await gateway.send(.POST, "/v1/chat/completions", body: Body.chat("openai/gpt-4o", stream: true))
                #expect(trickling.status == 200)
                #expect(trickling.header("content-length") == nil)
                #expect(trickling.header("transfer-encoding") == "chunked")
                #expect(trickling.events.last?.data == "[DONE]", "\(trickling.body)")
            }
        }
    }

    // MARK: 9. Client disconnect

    @Test("A client that gives up cancels the upstream request")
    func clientDisconnectCancelsUpstream() async throws {
        try await withWorld { world in
            try await world.addKey("openai", "k1", key: "key-1")
            try await world.mock.setKeyBehaviour("key-1", ["delayMs": 3000])
            try await GatewayProcess.with(home: world.home) { (gateway: GatewayProcess) async throws in
                var request = HTTPClientRequest(url: gateway.baseURL + "/v1/chat/completions")
                request.method = .POST
                request.headers.add(name: "authorization", value: "Bearer \(gateway.token)")
                request.headers.add(name: "content-type", value: "application/json")
                request.body = .bytes(ByteBuffer(string: Body.chat("openai/gpt-4o")))
                let start = ContinuousClock.now
                var gaveUp = false
                do {
                    _ = try await HTTPClient.shared.execute(request, timeout: .milliseconds(300))
                } catch {
                    gaveUp = true
                }
                #expect(gaveUp, "the client should have timed out after 300 ms")
                #expect(try await world.calls("key-1") == 1)
                // The gateway logs one line per request when it is done with it. If it abandoned the
                // upstream request with the client, that line comes well before the mock's 3 s delay.
                func requestLine() -> String? {
                    gateway.process.stderrSoFar.split(separator: "\n").first { $0.contains("model=gpt-4o") && $0.hasSuffix("request") }.map(
                        String.init)
                }
                let ended = await eventually(timeout: .milliseconds(1500)) { requestLine() != nil }
                let waited = ContinuousClock.now - start
                if !ended {
                    // Wait for the line to see what the gateway did instead.
                    await eventually(timeout: .seconds(4)) { requestLine() != nil }
                }
                #expect(
                    ended,
                    "\(waited) after the request began (the client left at 300 ms) the gateway was still waiting on the upstream; its line came later: \(requestLine() ?? "none")"
                )
            }
        }
    }

    // MARK: 10. A secret that would split the upstream request's headers

    @Test("A credential with a line break is never sent: the request fails with a message that names the profile")
    func secretWithLineBreak() async throws {
        try await withWorld { world in
            try await GatewayProcess.with(home: world.home, environment: ["OPENAI_API_KEY": "sk-env\r\nx-injected: yes"]) { gateway in
                let answer = try await gateway.send(.POST, "/v1/chat/completions", body: Body.chat("openai/gpt-4o"))
                #expect(answer.status == 502, "\(answer.body)")
                #expect(answer.body.contains("openai:env"), "\(answer.body)")
                #expect(answer.body.contains("control character"), "\(answer.body)")
                #expect(!answer.body.contains("sk-env"), "the secret leaked into the error: \(answer.body)")
                let counters = try await world.mock.counters()
                #expect(counters.filter { $0.key.hasPrefix("chat.requests.") }.values.reduce(0, +) == 0, "\(counters)")
            }
        }
    }
}
