import Foundation
import GatehouseCore
import GatehouseStore
import GatehouseTestSupport
import NIOHTTP1
import Testing

/// What the gateway says to bad requests, what it lists, and how the official SDKs get on with it.
@Suite("gateway: input errors, model list, real clients", .serialized)
struct InputAndClientTests {
    /// Checks `answer` is an error in `route`'s wire shape whose message contains every `needle`.
    private func expectWireError(
        _ answer: GatewayProcess.Answer, status: Int, route: String, contains needles: [String], _ what: String,
        sourceLocation: SourceLocation = #_sourceLocation
    ) {
        #expect(answer.status == status, "\(what): \(answer.status) \(answer.body)", sourceLocation: sourceLocation)
        #expect(answer.header("content-type")?.hasPrefix("application/json") == true, "\(what)", sourceLocation: sourceLocation)
        let json = answer.json
        let error = json?["error"]
        #expect(error?["message"]?.stringValue != nil, "\(what): no error.message in \(answer.body)", sourceLocation: sourceLocation)
        #expect(error?["type"]?.stringValue != nil, "\(what): no error.type in \(answer.body)", sourceLocation: sourceLocation)
        if route == "/v1/messages" {
            #expect(json?["type"] == "error", "\(what): Anthropic errors are {\"type\":\"error\",...}: \(answer.body)", sourceLocation: sourceLocation)
        } else {
            #expect(json?["type"] == nil, "\(what): \(answer.body)", sourceLocation: sourceLocation)
            #expect(error?["code"] != nil, "\(what): OpenAI errors carry error.code: \(answer.body)", sourceLocation: sourceLocation)
        }
        let message = (error?["message"]?.stringValue ?? "").lowercased()
        for needle in needles {
            #expect(message.contains(needle.lowercased()), "\(what): message lacks \"\(needle)\": \(answer.body)", sourceLocation: sourceLocation)
        }
    }

    // MARK: 8. Bad input

    @Test("Bad input gets a helpful error in the route's wire shape, and the gateway stays up")
    func badInput() async throws {
        try await withWorld { world in
            try await world.addKey("openai", "k1", key: "key-1")
            try await world.addKey("anthropic", "a1", key: "key-a1")
            try await GatewayProcess.with(home: world.home) { gateway in
                for route in ["/v1/chat/completions", "/v1/messages"] {
                    let good = route == "/v1/messages" ? Body.messages("anthropic/claude-sonnet-4-5") : Body.chat("openai/gpt-4o")
                    let modelOfRoute = route == "/v1/messages" ? "anthropic" : "openai"

                    var answer = try await gateway.send(.POST, route, body: "{\"model\": \"openai/gpt-4o\",\n \"messages\": [}")
                    expectWireError(answer, status: 400, route: route, contains: ["JSON", "line 2"], "malformed JSON on \(route)")

                    answer = try await gateway.send(.POST, route, body: #"{"messages":[{"role":"user","content":"hi"}]}"#)
                    expectWireError(answer, status: 400, route: route, contains: ["model"], "no model on \(route)")

                    answer = try await gateway.send(.POST, route, body: #"{"model":"gpt-4o","messages":[]}"#)
                    expectWireError(answer, status: 400, route: route, contains: ["gpt-4o", "provider"], "model without provider on \(route)")

                    answer = try await gateway.send(.POST, route, body: #"{"model":"nosuch/gpt-4o","messages":[]}"#)
                    expectWireError(answer, status: 400, route: route, contains: ["unknown provider", "nosuch"], "unknown provider on \(route)")

                    answer = try await gateway.send(.POST, route, body: #"{"model":"\#(modelOfRoute)/no-such-model","messages":[]}"#)
                    expectWireError(answer, status: 404, route: route, contains: ["unknown model", "no-such-model"], "unknown model on \(route)")
                    if route == "/v1/messages" {
                        #expect(answer.json?["error"]?["type"] == "not_found_error")
                    } else {
                        #expect(answer.json?["error"]?["code"] == "model_not_found")
                    }

                    answer = try await gateway.send(.POST, route, body: good, headers: [("X-Gatehouse-Agent", "nobody")])
                    expectWireError(answer, status: 400, route: route, contains: ["unknown agent", "nobody"], "unknown agent on \(route)")

                    answer = try await gateway.send(.POST, route, body: good, token: "gh_wrong-token-wrong-token")
                    expectWireError(answer, status: 401, route: route, contains: ["token"], "wrong token on \(route)")
                    answer = try await gateway.send(.POST, route, body: good, token: "gh_wrong-token-wrong-token", authHeader: "x-api-key")
                    expectWireError(answer, status: 401, route: route, contains: ["token"], "wrong x-api-key on \(route)")

                    answer = try await gateway.send(.POST, route, body: good, token: "")
                    expectWireError(answer, status: 401, route: route, contains: ["token"], "no token on \(route)")
                }
                // The wrong route for a provider's wire format.
                var answer = try await gateway.send(.POST, "/v1/chat/completions", body: Body.chat("anthropic/claude-sonnet-4-5"))
                expectWireError(answer, status: 400, route: "/v1/chat/completions", contains: ["anthropic-messages", "/v1/messages"], "Anthropic model on the OpenAI route")
                answer = try await gateway.send(.POST, "/v1/messages", body: Body.messages("openai/gpt-4o"))
                expectWireError(answer, status: 400, route: "/v1/messages", contains: ["openai-chat", "/v1/chat/completions"], "OpenAI model on the Anthropic route")

                // Nothing of that reached the provider.
                let counters = try await world.mock.counters()
                #expect(counters["chat.requests"] == nil && counters["messages.requests"] == nil, "\(counters)")

                let health = try await gateway.send(.GET, "/healthz", token: "")
                #expect(health.status == 200)
                #expect(health.json?["status"] == "ok")
                // And it still serves.
                let ok = try await gateway.send(.POST, "/v1/chat/completions", body: Body.chat("openai/gpt-4o"))
                #expect(ok.status == 200)
                #expect(gateway.process.process.isRunning)
            }
        }
    }

    @Test("GET /v1/models lists the models of providers with credentials, not of those without")
    func modelList() async throws {
        try await withWorld { world in
            try await world.addKey("openai", "k1", key: "key-1")
            try await GatewayProcess.with(home: world.home) { gateway in
                let answer = try await gateway.send(.GET, "/v1/models")
                #expect(answer.status == 200, "\(answer.body)")
                #expect(answer.json?["object"] == "list")
                let ids = Set((answer.json?["data"]?.arrayValue ?? []).compactMap { $0["id"]?.stringValue })
                #expect(ids.contains("openai/gpt-4o"))
                #expect(ids.contains("openai/gpt-4o-mini"))
                for absent in ["xai/grok-4", "groq/llama-3.3-70b-versatile", "mistral/mistral-large-latest", "openai-codex/gpt-5"] {
                    #expect(!ids.contains(absent), "\(absent) is listed without a credential")
                }
                #expect(!ids.contains { $0.hasPrefix("xai/") || $0.hasPrefix("deepseek/") || $0.hasPrefix("openrouter/") }, "\(ids.sorted())")
                let entry = (answer.json?["data"]?.arrayValue ?? []).first { $0["id"] == "openai/gpt-4o" }
                #expect(entry?["available"] == true)
                #expect(entry?["owned_by"] == "openai")

                // ?all=true lists everything, saying why a model is not usable.
                let all = try await gateway.send(.GET, "/v1/models?all=true")
                let grok = (all.json?["data"]?.arrayValue ?? []).first { $0["id"] == "xai/grok-4" }
                #expect(grok?["available"] == false)
                #expect(grok?["unavailableReason"] == "missing_auth")

                let denied = try await gateway.send(.GET, "/v1/models", token: "")
                #expect(denied.status == 401)
            }
        }
    }

    // MARK: 10. Real clients

    @Test("The official openai and anthropic Python SDKs work through the gateway")
    func pythonSDKs() async throws {
        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Clients/clients.py").path
        try await withWorld { world in
            try await world.addKey("openai", "k1", key: "key-1")
            try await world.addKey("anthropic", "a1", key: "key-a1")
            try await GatewayProcess.with(home: world.home) { gateway in
                let result = try await run(
                    "/usr/bin/env", ["python3", script, gateway.baseURL, gateway.token],
                    environment: ["NO_PROXY": "127.0.0.1,localhost", "no_proxy": "127.0.0.1,localhost"])
                try #require(result.status == 0, "clients.py failed: \(result.stderr)")
                let summary = try #require(try? JSONValue.parse(result.stdout), "clients.py printed no JSON: \(result.stdout) \(result.stderr)")
                try #require(summary["import_error"] == nil, "python3 with the openai and anthropic packages is needed: \(result.stdout)")
                let note = { (key: String) in "\(key): \(summary[key].map { $0.serializedString(pretty: false) } ?? "missing")" }

                #expect(summary["openai_plain"]?["content"] == "Hello from the mock.", "\(note("openai_plain"))")
                #expect(summary["openai_plain"]?["profile"] == "openai:k1", "\(note("openai_plain"))")
                #expect(summary["openai_plain"]?["finish_reason"] == "stop", "\(note("openai_plain"))")
                #expect(summary["openai_stream"]?["content"] == "Hello from the mock.", "\(note("openai_stream"))")
                #expect(summary["openai_stream"]?["finish_reason"] == "stop", "\(note("openai_stream"))")
                #expect(summary["openai_stream"]?["usage_total"]?.intValue != nil, "stream_options.include_usage: \(note("openai_stream"))")
                #expect(summary["openai_unknown_model"]?["raised"] == "NotFoundError", "\(note("openai_unknown_model"))")
                #expect(summary["openai_unknown_model"]?["status"] == 404, "\(note("openai_unknown_model"))")

                #expect(summary["anthropic_plain"]?["content"] == "Hello from the mock.", "\(note("anthropic_plain"))")
                #expect(summary["anthropic_plain"]?["profile"] == "anthropic:a1", "\(note("anthropic_plain"))")
                #expect(summary["anthropic_plain"]?["stop_reason"] == "end_turn", "\(note("anthropic_plain"))")
                #expect(summary["anthropic_stream"]?["content"] == "Hello from the mock.", "\(note("anthropic_stream"))")
                #expect(summary["anthropic_stream"]?["final_text"] == "Hello from the mock.", "\(note("anthropic_stream"))")
                let events = summary["anthropic_stream"]?["events"]?.arrayValue?.compactMap(\.stringValue) ?? []
                #expect(events.first == "message_start" && events.contains("message_stop"), "\(note("anthropic_stream"))")
                #expect(summary["anthropic_unknown_model"]?["raised"] == "NotFoundError", "\(note("anthropic_unknown_model"))")
                #expect(summary["anthropic_unknown_model"]?["status"] == 404, "\(note("anthropic_unknown_model"))")

                // What the SDKs sent upstream through the gateway: their own key never, the profile's key always.
                let counters = try await world.mock.counters()
                #expect(counters["chat.requests.key-1"] == 2, "\(counters)")
                #expect(counters["messages.requests.key-a1"] == 2, "\(counters)")
                #expect(counters.keys.allSatisfy { !$0.contains(gateway.token) }, "\(counters)")
                let last = try await world.lastRequest()
                #expect(last["headerValues"]?["anthropic-version"] != nil)
            }
        }
    }
}
