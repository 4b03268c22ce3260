import Foundation
import GatehouseCore
import GatehouseTestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// How the gateway treats a client connection, over raw loopback TCP (what an HTTP client library
/// hides): pipelined requests answered in order, `Connection: close`, a body refused by its
/// `Content-Length` alone, and the answer in flight drained on SIGTERM. A real `gatehouse gateway`
/// in front of `gatehouse-mock-upstream`.
@Suite("gateway: connection handling", .serialized)
struct ConnectionHandlingTests {
    /// The default body limit (`gateway.maxBodyBytes`).
    static let bodyLimit = 32 << 20

    // MARK: Pipelining

    @Test("Pipelining: healthz, chat, models, messages in one write are answered in that order, each with its own answer")
    func pipelinedAnswersComeInOrder() async throws {
        try await withKeyedWorld { world in
            try await world.addKey("anthropic", "a1", key: "key-a1")
            // The first model answer is slow: answers written as soon as they are ready would overtake it.
            try await world.mock.setKeyBehaviour("key-1", ["delayMs": 500])
            try await GatewayProcess.with(home: world.home) { gateway in
                let connection = try RawConnection(to: gateway)
                try connection.send(
                    RawRequest.make("GET", "/healthz")
                        + RawRequest.chat(gateway)
                        + RawRequest.make("GET", "/v1/models", headers: [("authorization", "Bearer \(gateway.token)")])
                        + RawRequest.messages(gateway))

                let health = try await connection.readAnswer()
                #expect(health.status == 200, "\(health.summary)")
                #expect(health.json == ["status": "ok"], "the first answer is not /healthz's: \(health.summary)")

                let completion = try await connection.readAnswer()
                #expect(completion.status == 200, "\(completion.summary)")
                #expect(completion.json?["object"] == "chat.completion", "the second answer is not the completion: \(completion.summary)")
                #expect(completion.json?["choices"]?.arrayValue?.first?["message"]?["content"] == "Hello from the mock.")
                #expect(completion.header("x-gatehouse-profile") == "openai:k1")

                let models = try await connection.readAnswer()
                #expect(models.status == 200, "\(models.summary)")
                #expect(models.json?["object"] == "list", "the third answer is not the model list: \(models.summary)")
                let ids = Set((models.json?["data"]?.arrayValue ?? []).compactMap { $0["id"]?.stringValue })
                #expect(ids.contains("openai/gpt-4o") && ids.contains { $0.hasPrefix("anthropic/") }, "\(ids.sorted())")

                let message = try await connection.readAnswer()
                #expect(message.status == 200, "\(message.summary)")
                #expect(message.json?["type"] == "message", "the fourth answer is not the Anthropic message: \(message.summary)")
                #expect(message.json?["content"]?.arrayValue?.first?["text"] == "Hello from the mock.")
                #expect(message.header("x-gatehouse-profile") == "anthropic:a1")

                // The slow model request first: the router's requests behind it arrive while it is being
                // served (not queued behind a router answer) and still wait their turn.
                try connection.send(
                    RawRequest.chat(gateway)
                        + RawRequest.make("GET", "/v1/models", headers: [("authorization", "Bearer \(gateway.token)")])
                        + RawRequest.make("GET", "/healthz"))
                let slow = try await connection.readAnswer()
                #expect(slow.json?["object"] == "chat.completion", "the model answer was overtaken: \(slow.summary)")
                #expect(try await connection.readAnswer().json?["object"] == "list")
                #expect(try await connection.readAnswer().json == ["status": "ok"])

                // Each model request went upstream once.
                #expect(try await world.calls("key-1") == 2)
                #expect(try await world.calls("key-a1", wire: "messages") == 1)
            }
        }
    }

    @Test("HEAD requests get heads alone, and the connection goes on with a model request and a GET, each answered whole")
    func headAnswersHaveNoBody() async throws {
        try await withKeyedWorld { world in
            try await GatewayProcess.with(home: world.home) { gateway in
                let connection = try RawConnection(to: gateway)
                try connection.send(
                    RawRequest.make("HEAD", "/healthz") + RawRequest.make("HEAD", "/nowhere")
                        + RawRequest.make("HEAD", "/v1/models", headers: [("authorization", "Bearer \(gateway.token)")])
                        + RawRequest.chat(gateway) + RawRequest.make("GET", "/healthz"))

                // HEAD /healthz: the GET answer's head, with its length, and no body; then a 404 head
                // for a route that does not exist. The answers stay in step with the requests, the
                // router's and the model route's.
                let health = try await connection.take(through: "\r\n\r\n")
                #expect(health.hasPrefix("HTTP/1.1 200 OK\r\n"), "\(health)")
                #expect(health.lowercased().contains("content-length: 15\r\n"), "\(health)")
                let missing = try await connection.take(through: "\r\n\r\n")
                #expect(missing.hasPrefix("HTTP/1.1 404 Not Found\r\n"), "\(missing)")
                let models = try await connection.take(through: "\r\n\r\n")
                #expect(models.hasPrefix("HTTP/1.1 200 OK\r\n"), "\(models)")
                #expect(models.lowercased().contains("content-type: application/json"), "\(models)")
                let completion = try await connection.readAnswer()
                #expect(completion.status == 200, "\(completion.summary)")
                #expect(completion.json?["object"] == "chat.completion", "\(completion.summary)")
                let health2 = try await connection.readAnswer()
                #expect(health2.json == ["status": "ok"], "\(health2.summary)")
            }
        }
    }

    @Test("An upstream 204 reaches the client as a 204 with neither body nor length, and the connection goes on")
    func noContentAnswerHasNoLength() async throws {
        try await withKeyedWorld { world in
            try await world.mock.setKeyBehaviour("key-1", ["status": 204, "times": 1])
            try await GatewayProcess.with(home: world.home) { gateway in
                let connection = try RawConnection(to: gateway)
                try connection.send(RawRequest.chat(gateway) + RawRequest.chat(gateway))
                let head = try await connection.take(through: "\r\n\r\n")
                #expect(head.hasPrefix("HTTP/1.1 204 No Content\r\n"), "\(head)")
                #expect(!head.lowercased().contains("content-length"), "\(head)")
                let next = try await connection.readAnswer()
                #expect(next.status == 200, "\(next.summary)")
                #expect(next.json?["object"] == "chat.completion", "\(next.summary)")
            }
        }
    }

    // MARK: What a connection keeps between its requests

    @Test(
        "One kept-alive connection follows every change between its requests: a replaced key, a new profile and order, a reloaded configuration, another agent"
    )
    func keptConnectionFollowsChanges() async throws {
        try await withKeyedWorld { world in
            try await GatewayProcess.with(home: world.home) { gateway in
                let connection = try RawConnection(to: gateway)
                func chat(_ model: String = "openai/gpt-4o", headers: [(String, String)] = []) async throws -> MockHTTPResponse {
                    try connection.send(
                        RawRequest.make(
                            "POST", "/v1/chat/completions", headers: [("authorization", "Bearer \(gateway.token)")] + headers,
                            body: Body.chat(model)))
                    return try await connection.readAnswer()
                }
                // The request path looks at the credential files again a millisecond after it last did.
                func settle() async throws { try await Task.sleep(for: .milliseconds(20)) }

                for _ in 0..<3 { #expect(try await chat().header("x-gatehouse-profile") == "openai:k1") }
                #expect(try await world.calls("key-1") == 3)

                // A key replaced on disk: the next request carries the new one.
                try await world.cli(["auth", "add", "openai", "--name", "k1", "--api-key-stdin", "--replace"], stdin: "key-2")
                try await settle()
                #expect(try await chat().status == 200)
                #expect(try await world.calls("key-2") == 1)
                #expect(try await world.calls("key-1") == 3)

                // A second profile put first in the order: the next request goes through it.
                try await world.addKey("openai", "k2", key: "key-3")
                try await world.order("openai", ["openai:k2", "openai:k1"])
                try await settle()
                #expect(try await chat().header("x-gatehouse-profile") == "openai:k2")
                #expect(try await world.calls("key-3") == 1)

                // A reload that sends the key in x-api-key and adds a model: the connection's next
                // request for the same model goes up the new way, and the new model is served.
                try world.editProvider("openai") {
                    $0["auth"] = "x-api-key"
                    $0["models"] = [["id": "gpt-next"]]
                }
                #expect(await eventually { gateway.process.stderrSoFar.contains("reloaded the configuration") })
                #expect(try await chat().status == 200)
                let upstream = try await world.lastRequest()
                #expect(upstream["key"] == "key-3", "\(upstream)")
                let names = upstream["headers"]?.arrayValue?.compactMap(\.stringValue) ?? []
                #expect(names.contains("x-api-key") && !names.contains("authorization"), "\(names)")
                let added = try await chat("openai/gpt-next")
                #expect(added.status == 200, "\(added.summary)")
                #expect(try await world.lastRequest()["model"] == "gpt-next")

                // Another agent on the same connection.
                let unknown = try await chat("openai/gpt-next", headers: [("x-gatehouse-agent", "nobody")])
                #expect(unknown.status == 400, "\(unknown.summary)")
                #expect(try await chat("openai/gpt-next").header("x-gatehouse-profile") == "openai:k2")
            }
        }
    }

    // MARK: Connection: close and keep-alive

    @Test("Connection: close on a model request: the whole answer, then end of stream; without it the connection serves the next request")
    func connectionCloseAndKeepAlive() async throws {
        try await withKeyedWorld { world in
            try await GatewayProcess.with(home: world.home) { gateway in
                let closing = try RawConnection(to: gateway)
                try closing.send(RawRequest.chat(gateway, headers: [("connection", "close")]))
                let answer = try await closing.readAnswer()
                #expect(answer.status == 200, "\(answer.summary)")
                #expect(answer.json?["choices"]?.arrayValue?.first?["message"]?["content"] == "Hello from the mock.", "\(answer.summary)")
                let after = try await closing.readToEnd()
                #expect(after.isEmpty, "bytes after the answer to a Connection: close request: \(String(decoding: after, as: UTF8.self))")

                // Keep-alive: a streamed answer, then a plain one, on one connection.
                let kept = try RawConnection(to: gateway)
                try kept.send(RawRequest.chat(gateway, stream: true))
                let streamed = try await kept.readAnswer()
                #expect(streamed.status == 200, "\(streamed.summary)")
                #expect(streamed.events.last?.data == "[DONE]", "\(streamed.text)")
                #expect(streamed.header("connection")?.lowercased() != "close")
                try kept.send(RawRequest.chat(gateway))
                let second = try await kept.readAnswer()
                #expect(second.status == 200, "\(second.summary)")
                #expect(second.json?["object"] == "chat.completion", "\(second.summary)")
                #expect(second.header("connection")?.lowercased() != "close")
                #expect(try await world.calls("key-1") == 3)
            }
        }
    }

    @Test(
        "The gateway installs Swift concurrency's enqueue hook, so its tasks run on the event loops, and a streamed answer (a task) goes through"
    )
    func tasksRunOnTheEventLoops() async throws {
        try await withKeyedWorld { world in
            try await GatewayProcess.with(home: world.home, environment: ["GATEHOUSE_LOG_LEVEL": "debug"]) { gateway in
                let connection = try RawConnection(to: gateway)
                try connection.send(RawRequest.chat(gateway, stream: true))
                let streamed = try await connection.readAnswer()
                #expect(streamed.status == 200, "\(streamed.summary)")
                #expect(streamed.events.last?.data == "[DONE]", "\(streamed.text)")
                let log = gateway.process.stderrSoFar
                #expect(log.contains("Swift concurrency runs on the event loops"), "\(log)")
                #expect(!log.contains("Swift concurrency runs on its own threads"), "\(log)")
            }
        }
    }

    @Test("Bytes after a Connection: close request cost it neither its answer nor anything upstream: one answer, then end of stream")
    func requestAfterConnectionCloseIsIgnored() async throws {
        try await withKeyedWorld { world in
            try await GatewayProcess.with(home: world.home) { gateway in
                // RFC 9112 9.6: the server answers the request that said close and processes nothing after it.
                let connection = try RawConnection(to: gateway)
                try connection.send(RawRequest.chat(gateway, headers: [("connection", "close")]) + RawRequest.chat(gateway))
                let answer = try await connection.readAnswer()
                #expect(answer.status == 200, "\(answer.summary)")
                #expect(answer.json?["object"] == "chat.completion", "\(answer.summary)")
                let after = try await connection.readToEnd()
                #expect(after.isEmpty, "the request after Connection: close was answered: \(String(decoding: after, as: UTF8.self))")
                #expect(try await world.calls("key-1") == 1, "the request after Connection: close went upstream")
            }
        }
    }

    // MARK: Body limit

    @Test("A Content-Length over the body limit gets 413 in the route's wire shape before any body is sent, then the connection closes")
    func oversizedBodyRefusedAtOnce() async throws {
        try await withKeyedWorld { world in
            try await world.addKey("anthropic", "a1", key: "key-a1")
            try await GatewayProcess.with(home: world.home) { gateway in
                for path in ["/v1/chat/completions", "/v1/messages"] {
                    let connection = try RawConnection(to: gateway)
                    // The head alone: an answer can only come if the gateway refuses on the length.
                    try connection.send(
                        RawRequest.make(
                            "POST", path,
                            headers: [
                                ("authorization", "Bearer \(gateway.token)"), ("content-type", "application/json"),
                                ("content-length", String(Self.bodyLimit + 1)),
                            ]))
                    let answer = try await connection.readAnswer()
                    #expect(answer.status == 413, "\(path): \(answer.summary)")
                    let error = answer.json?["error"]
                    #expect(error?["message"]?.stringValue?.contains("32 MiB") == true, "\(path): \(answer.summary)")
                    if path == "/v1/messages" {
                        #expect(answer.json?["type"] == "error", "Anthropic shape: \(answer.summary)")
                        #expect(error?["type"] == "request_too_large", "Anthropic shape: \(answer.summary)")
                    } else {
                        #expect(error?["type"] == "invalid_request_error", "OpenAI shape: \(answer.summary)")
                        #expect(error?["code"] == "request_too_large", "OpenAI shape: \(answer.summary)")
                    }
                    let after = try await connection.readToEnd()
                    #expect(after.isEmpty, "\(path): bytes after the 413: \(String(decoding: after, as: UTF8.self))")
                }
                let counters = try await world.mock.counters()
                #expect((counters["chat.requests"] ?? 0) == 0 && (counters["messages.requests"] ?? 0) == 0, "\(counters)")
            }
        }
    }

    @Test("--max-body-bytes: a chunked body that grows past the limit gets 413 and the connection closes; one under it is served")
    func configuredBodyLimitCountsTheBodyAsItComes() async throws {
        try await withKeyedWorld { world in
            try await GatewayProcess.with(home: world.home, arguments: ["--max-body-bytes", "2048"]) { gateway in
                // No Content-Length: only counting the body as it arrives can find it too large.
                let padding = String(repeating: "x", count: 4096)
                let body = #"{"model":"openai/gpt-4o","messages":[{"role":"user","content":"\#(padding)"}]}"#
                let chunked = String(body.utf8.count, radix: 16) + "\r\n" + body + "\r\n0\r\n\r\n"
                let large = try RawConnection(to: gateway)
                try large.send(
                    RawRequest.make(
                        "POST", "/v1/chat/completions",
                        headers: [
                            ("authorization", "Bearer \(gateway.token)"), ("content-type", "application/json"),
                            ("transfer-encoding", "chunked"),
                        ])
                        + chunked)
                let refused = try await large.readAnswer()
                #expect(refused.status == 413, "\(refused.summary)")
                #expect(refused.json?["error"]?["message"]?.stringValue?.contains("2048 bytes") == true, "\(refused.summary)")
                #expect(refused.json?["error"]?["code"] == "request_too_large", "\(refused.summary)")
                let after = try await large.readToEnd()
                #expect(after.isEmpty, "bytes after the 413: \(String(decoding: after, as: UTF8.self))")

                let small = try RawConnection(to: gateway)
                try small.send(RawRequest.chat(gateway))
                let served = try await small.readAnswer()
                #expect(served.status == 200, "\(served.summary)")
                #expect(try await world.calls("key-1") == 1, "only the request under the limit went upstream")
            }
        }
    }

    @Test("Expect: 100-continue: the gateway says 100 Continue before the body is sent, then answers the request")
    func expectContinue() async throws {
        try await withKeyedWorld { world in
            try await GatewayProcess.with(home: world.home) { gateway in
                let body = Body.chat("openai/gpt-4o", stream: false)
                let connection = try RawConnection(to: gateway)
                try connection.send(
                    RawRequest.make(
                        "POST", "/v1/chat/completions",
                        headers: [
                            ("authorization", "Bearer \(gateway.token)"), ("content-type", "application/json"),
                            ("content-length", String(body.utf8.count)), ("expect", "100-continue"),
                        ]))
                // Nothing of the body is sent until the interim answer came.
                let interim = try await connection.take(through: "\r\n\r\n")
                #expect(interim.hasPrefix("HTTP/1.1 100 Continue"), "\(interim)")
                try connection.send(body)
                let answer = try await connection.readAnswer()
                #expect(answer.status == 200, "\(answer.summary)")
                #expect(answer.json?["object"] == "chat.completion", "\(answer.summary)")
            }
        }
    }

    @Test("A client that hangs up with a model request queued behind the one in flight: the queued one never goes upstream")
    func hangUpDropsQueuedModelRequest() async throws {
        try await withKeyedWorld { world in
            try await world.mock.setKeyBehaviour("key-1", ["delayMs": 1500])
            try await GatewayProcess.with(home: world.home) { gateway in
                let connection = try RawConnection(to: gateway)
                try connection.send(RawRequest.chat(gateway) + RawRequest.chat(gateway))
                try await waitForUpstream(world, key: "key-1")
                connection.finishSending()
                // The first request's log line says it was cancelled; nothing else is logged or sent.
                let cancelled = await eventually(timeout: .seconds(10)) { gateway.process.stderrSoFar.contains("status=499") }
                #expect(cancelled, "\(gateway.process.stderrSoFar)")
                let sent = await eventually(timeout: .seconds(3)) { ((try? await world.calls("key-1")) ?? 0) > 1 }
                #expect(!sent, "the request queued behind the cancelled one went upstream for a client that had gone")
                let lines = gateway.process.stderrSoFar.split(separator: "\n").filter {
                    $0.contains(" request ") || $0.hasSuffix(" request")
                }
                #expect(lines.count == 1, "one request line, for the cancelled request: \(lines)")
            }
        }
    }

    @Test("A refused body that is still being sent: the client can send it all and then reads the 413 (no reset)")
    func refusalLetsTheSenderFinish() async throws {
        try await withKeyedWorld { world in
            try await GatewayProcess.with(home: world.home, arguments: ["--max-body-bytes", "1024"]) { gateway in
                // Far more than the socket buffers hold: the gateway must read it to let it through.
                let body = String(repeating: "x", count: 16 << 20)
                let connection = try RawConnection(to: gateway)
                try connection.send(
                    RawRequest.make(
                        "POST", "/v1/chat/completions",
                        headers: [
                            ("authorization", "Bearer \(gateway.token)"), ("content-type", "application/json"),
                            ("content-length", String(body.utf8.count)),
                        ]) + body)
                let answer = try await connection.readAnswer()
                #expect(answer.status == 413, "\(answer.summary)")
                #expect(answer.header("connection") == "close", "\(answer.summary)")
                let after = try await connection.readToEnd()
                #expect(after.isEmpty, "bytes after the 413: \(after.count)")
                #expect(try await world.calls("key-1") == 0)
            }
        }
    }

    @Test("A trailing slash or a query string names the same model route; answers carry Server and Date")
    func routeSpellings() async throws {
        try await withKeyedWorld { world in
            try await GatewayProcess.with(home: world.home) { gateway in
                for path in ["/v1/chat/completions/", "/v1/chat/completions?trace=1"] {
                    let connection = try RawConnection(to: gateway)
                    try connection.send(
                        RawRequest.make(
                            "POST", path, headers: [("authorization", "Bearer \(gateway.token)")],
                            body: Body.chat("openai/gpt-4o", stream: false)))
                    let answer = try await connection.readAnswer()
                    #expect(answer.status == 200 && answer.json?["object"] == "chat.completion", "\(path): \(answer.summary)")
                    // As the router's answers: the server's name and the date.
                    #expect(answer.header("server") == "gatehouse", "\(answer.summary)")
                    #expect(answer.header("date").flatMap(HTTPDate.parse) != nil, "\(answer.summary)")
                }
                #expect(try await world.calls("key-1") == 2)
            }
        }
    }

    // MARK: Graceful shutdown

    @Test("SIGTERM while a plain answer is upstream: the client gets the whole 200, the connection closes, the gateway exits 0")
    func shutdownDrainsPlainAnswer() async throws {
        try await withKeyedWorld { world in
            // Long enough that the shutdown surely begins before the answer comes (checked below).
            try await world.mock.setKeyBehaviour("key-1", ["delayMs": 3000])
            try await withStartedGateway(world) { gateway in
                let connection = try RawConnection(to: gateway)
                try connection.send(RawRequest.chat(gateway))
                // The mock counts a request before its delay: the gateway is now waiting on the upstream.
                try await waitForUpstream(world, key: "key-1")

                gateway.process.signal(SIGTERM)
                let stopped = await stoppedListening(gateway)
                #expect(stopped, "the gateway kept accepting connections after SIGTERM")
                #expect(!connection.hasBytesWaiting(), "the answer came before the shutdown began; this run shows nothing about draining")

                let answer = try await connection.readAnswer()
                #expect(answer.status == 200, "\(answer.summary)")
                #expect(answer.json?["choices"]?.arrayValue?.first?["message"]?["content"] == "Hello from the mock.", "\(answer.summary)")
                try await expectEndThenCleanExit(connection, gateway)
            }
        }
    }

    @Test("SIGTERM in the middle of a streamed answer: every event up to [DONE] still comes, then the gateway exits 0")
    func shutdownDrainsStreamedAnswer() async throws {
        try await withKeyedWorld { world in
            // Eight events, 400 ms apart.
            try await world.mock.setKeyBehaviour("key-1", ["eventDelayMs": 400])
            try await withStartedGateway(world) { gateway in
                let connection = try RawConnection(to: gateway)
                try connection.send(RawRequest.chat(gateway, stream: true))
                try await connection.receive(until: "data: ")

                gateway.process.signal(SIGTERM)
                let stopped = await stoppedListening(gateway)
                #expect(stopped, "the gateway kept accepting connections after SIGTERM")
                #expect(
                    !connection.hasReceived("[DONE]"), "the stream ended before the shutdown began; this run shows nothing about draining")

                let answer = try await connection.readAnswer()
                #expect(answer.status == 200, "\(answer.summary)")
                let events = answer.events
                #expect(events.last?.data == "[DONE]", "\(answer.text)")
                let text = events.dropLast().compactMap { event in
                    (try? JSONValue.parse(event.data))?["choices"]?.arrayValue?.first?["delta"]?["content"]?.stringValue
                }.joined()
                #expect(text == "Hello from the mock.", "\(answer.text)")
                #expect(!answer.text.contains("\"error\""), "\(answer.text)")
                try await expectEndThenCleanExit(connection, gateway)
            }
        }
    }

    @Test("A stream whose first event is late: its head comes at once, not with the event")
    func streamHeadComesBeforeLateFirstEvent() async throws {
        try await withKeyedWorld { world in
            // Eight events, 300 ms apart, the first one too.
            try await world.mock.setKeyBehaviour("key-1", ["eventDelayMs": 300])
            try await withStartedGateway(world) { gateway in
                let connection = try RawConnection(to: gateway)
                try connection.send(RawRequest.chat(gateway, stream: true))
                try await connection.receive(until: "\r\n\r\n")
                #expect(connection.hasReceived("HTTP/1.1 200"))
                #expect(!connection.hasReceived("data: "), "the head waited for the first event")
                let answer = try await connection.readAnswer()
                #expect(answer.status == 200, "\(answer.summary)")
                #expect(answer.events.last?.data == "[DONE]", "\(answer.text)")
            }
        }
    }

    @Test("SIGTERM while an answer is upstream: what it teaches (a 429's cooldown) is in auth-state.json once the gateway has exited")
    func shutdownFlushesHealthOfDrainedAnswers() async throws {
        try await withKeyedWorld { world in
            try await world.mock.setKeyBehaviour("key-1", ["delayMs": 2000, "status": 429, "retryAfter": "120"])
            try await withStartedGateway(world) { gateway in
                let connection = try RawConnection(to: gateway)
                try connection.send(RawRequest.chat(gateway))
                try await waitForUpstream(world, key: "key-1")

                gateway.process.signal(SIGTERM)
                let answer = try await connection.readAnswer()
                #expect(answer.status == 429, "\(answer.summary)")
                try await expectEndThenCleanExit(connection, gateway)
                // Recorded during the drain, so written by the last flush, after the server stopped.
                #expect(world.stats("openai:k1")?["cooldownUntil"]?.intValue != nil, "\(String(describing: world.authState))")
            }
        }
    }

    @Test("SIGTERM with a model request pipelined behind the one in flight: that one is answered, the queued one never goes upstream")
    func shutdownDropsQueuedModelRequest() async throws {
        try await withKeyedWorld { world in
            try await world.mock.setKeyBehaviour("key-1", ["delayMs": 1500])
            try await withStartedGateway(world) { gateway in
                let connection = try RawConnection(to: gateway)
                try connection.send(RawRequest.chat(gateway) + RawRequest.chat(gateway))
                try await waitForUpstream(world, key: "key-1")

                gateway.process.signal(SIGTERM)
                let answer = try await connection.readAnswer()
                #expect(answer.status == 200, "\(answer.summary)")
                #expect(answer.json?["object"] == "chat.completion", "\(answer.summary)")
                // The connection closes after the answer in progress: the queued request is not answered...
                try await expectEndThenCleanExit(connection, gateway)
                // ...and so must not be sent upstream either (a request nobody reads is still paid for).
                let sent = await eventually(timeout: .seconds(1)) { ((try? await world.calls("key-1")) ?? 0) > 1 }
                #expect(!sent, "the request queued behind the drained one went upstream after its connection closed")
            }
        }
    }

    @Test("The drain is bounded: an answer still upstream when --drain-timeout runs out is cancelled, and the gateway exits 0")
    func drainTimeoutCutsAnswersStillGoing() async throws {
        try await withKeyedWorld { world in
            // Far longer than the drain timeout and the waits below.
            try await world.mock.setKeyBehaviour("key-1", ["delayMs": 60_000])
            let gateway = try await GatewayProcess.start(home: world.home, arguments: ["--drain-timeout", "1"])
            defer {
                if gateway.process.process.isRunning { gateway.process.signal(SIGKILL) }
            }
            let connection = try RawConnection(to: gateway)
            try connection.send(RawRequest.chat(gateway))
            try await waitForUpstream(world, key: "key-1")

            gateway.process.signal(SIGTERM)
            // `exited` waits 20 s at most: without the bound the gateway would wait the full minute.
            let exit = try #require(await exited(gateway), "the gateway was still running 20 s after SIGTERM with a 1 s drain timeout")
            #expect(exit.status == 0 && !exit.signaled, "exit \(exit.status) (signaled: \(exit.signaled)): \(exit.stderr)")
            let received = String(decoding: try await connection.readToEnd(), as: UTF8.self)
            #expect(!received.contains("200 OK"), "an answer the upstream never gave: \(received)")
            let cancelled = exit.stderr.split(separator: "\n").contains { $0.contains(" request") && $0.contains("status=499") }
            #expect(cancelled, "no request logged as cancelled (499): \(exit.stderr)")
        }
    }

    // MARK: Helpers

    /// A world whose `openai` provider has the key `key-1` (profile `openai:k1`): where every test
    /// here begins.
    func withKeyedWorld<T>(isolation: isolated (any Actor)? = #isolation, _ body: (GatewayWorld) async throws -> T) async throws -> T {
        try await withWorld { world in
            try await world.addKey("openai", "k1", key: "key-1")
            return try await body(world)
        }
    }

    /// Runs `body` with a gateway the test stops itself; one still running afterwards is killed.
    func withStartedGateway<T>(
        _ world: GatewayWorld, isolation: isolated (any Actor)? = #isolation, _ body: (GatewayProcess) async throws -> T
    ) async throws -> T {
        let gateway = try await GatewayProcess.start(home: world.home)
        defer {
            if gateway.process.process.isRunning { gateway.process.signal(SIGKILL) }
        }
        return try await body(gateway)
    }

    /// Waits until the mock has counted one request with `key`: the gateway is waiting on the upstream.
    func waitForUpstream(_ world: GatewayWorld, key: String, sourceLocation: SourceLocation = #_sourceLocation) async throws {
        let reached = await eventually(timeout: .seconds(10)) { (try? await world.calls(key)) == 1 }
        try #require(reached, "the request never reached the mock", sourceLocation: sourceLocation)
    }

    /// The connection ends with nothing more on it, then the gateway exits with status 0 (not by a signal).
    func expectEndThenCleanExit(
        _ connection: RawConnection, _ gateway: GatewayProcess, sourceLocation: SourceLocation = #_sourceLocation
    ) async throws {
        let after = try await connection.readToEnd()
        #expect(after.isEmpty, "\(String(decoding: after, as: UTF8.self))", sourceLocation: sourceLocation)
        let exit = try #require(await exited(gateway), "the gateway did not exit within 20 s of SIGTERM", sourceLocation: sourceLocation)
        #expect(
            exit.status == 0 && !exit.signaled, "exit \(exit.status) (signaled: \(exit.signaled)): \(exit.stderr)",
            sourceLocation: sourceLocation)
    }

    /// Whether the gateway stopped accepting connections (its listener closed) within 10 s.
    func stoppedListening(_ gateway: GatewayProcess) async -> Bool {
        await eventually(timeout: .seconds(10)) { !RawConnection.accepts(gateway) }
    }

    /// How the gateway ended, or nil when it was still running 20 s later (it is killed then).
    func exited(_ gateway: GatewayProcess) async -> ProcessResult? {
        let ended = await eventually(timeout: .seconds(20)) { !gateway.process.process.isRunning }
        guard ended else {
            gateway.process.signal(SIGKILL)
            _ = await gateway.process.wait()
            return nil
        }
        return await gateway.process.wait()
    }
}

// MARK: - Raw HTTP/1.1

/// Requests written out byte for byte, as a client sends them.
enum RawRequest {
    /// One request; a body gets its `content-type` and `content-length`.
    static func make(_ method: String, _ path: String, headers: [(String, String)] = [], body: String? = nil) -> String {
        var text = "\(method) \(path) HTTP/1.1\r\nhost: 127.0.0.1\r\n"
        for (name, value) in headers { text += "\(name): \(value)\r\n" }
        if let body { text += "content-type: application/json\r\ncontent-length: \(body.utf8.count)\r\n" }
        return text + "\r\n" + (body ?? "")
    }

    /// `POST /v1/chat/completions` for `openai/gpt-4o` with the gateway token as a bearer.
    static func chat(_ gateway: GatewayProcess, stream: Bool = false, headers: [(String, String)] = []) -> String {
        make(
            "POST", "/v1/chat/completions", headers: [("authorization", "Bearer \(gateway.token)")] + headers,
            body: Body.chat("openai/gpt-4o", stream: stream))
    }

    /// `POST /v1/messages` for `anthropic/claude-sonnet-4-5` with the gateway token in `x-api-key`.
    static func messages(_ gateway: GatewayProcess, headers: [(String, String)] = []) -> String {
        make(
            "POST", "/v1/messages", headers: [("x-api-key", gateway.token), ("anthropic-version", "2023-06-01")] + headers,
            body: Body.messages("anthropic/claude-sonnet-4-5"))
    }
}

extension MockHTTPResponse {
    /// The status and the start of the body, for failure messages (a model list is long).
    var summary: String { "\(status) \(text.prefix(400))" }
}

struct RawConnectionError: Error, CustomStringConvertible {
    var description: String
}

/// One TCP connection to the gateway on loopback, written to and read from directly. Reads block a
/// Dispatch thread (never the cooperative pool) for at most 20 s each.
final class RawConnection {
    private let socket: Int32
    /// Bytes read and not yet taken as an answer.
    private var received: [UInt8] = []
    /// Whether the gateway has closed its side (or reset the connection).
    private var ended = false
    /// Answers taken so far, for the messages.
    private var answers = 0
    private static let readTimeoutSeconds = 20

    init(to gateway: GatewayProcess) throws {
        socket = try Self.connect(gateway)
    }

    deinit {
        close(socket)
    }

    /// Whether the gateway accepts a connection now.
    static func accepts(_ gateway: GatewayProcess) -> Bool {
        guard let socket = try? connect(gateway) else { return false }
        close(socket)
        return true
    }

    private static func connect(_ gateway: GatewayProcess) throws -> Int32 {
        guard let port = URL(string: gateway.baseURL)?.port else { throw RawConnectionError(description: "no port in \(gateway.baseURL)") }
        #if canImport(Glibc)
            let socket = Glibc.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        #else
            let socket = Darwin.socket(AF_INET, SOCK_STREAM, 0)
        #endif
        guard socket >= 0 else { throw RawConnectionError(description: "socket: \(String(cString: strerror(errno)))") }
        var timeout = timeval(tv_sec: Self.readTimeoutSeconds, tv_usec: 0)
        setsockopt(socket, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { pointer in
                #if canImport(Glibc)
                    Glibc.connect(socket, pointer, socklen_t(MemoryLayout<sockaddr_in>.size))
                #else
                    Darwin.connect(socket, pointer, socklen_t(MemoryLayout<sockaddr_in>.size))
                #endif
            }
        }
        guard result == 0 else {
            let reason = String(cString: strerror(errno))
            close(socket)
            throw RawConnectionError(description: "connect to port \(port): \(reason)")
        }
        return socket
    }

    /// Writes all of `text`.
    func send(_ text: String) throws {
        #if canImport(Glibc)
            let flags = Int32(MSG_NOSIGNAL)
        #else
            let flags: Int32 = 0
        #endif
        var rest = Array(text.utf8)[...]
        while !rest.isEmpty {
            let count = rest.withUnsafeBytes { bytes in
                #if canImport(Glibc)
                    Glibc.send(socket, bytes.baseAddress, bytes.count, flags)
                #else
                    Darwin.send(socket, bytes.baseAddress, bytes.count, flags)
                #endif
            }
            if count < 0 {
                if errno == EINTR { continue }
                throw RawConnectionError(description: "send: \(String(cString: strerror(errno)))")
            }
            rest = rest.dropFirst(count)
        }
    }

    /// Closes the sending side (the gateway reads the end of the stream: a hang-up).
    func finishSending() {
        #if canImport(Glibc)
            _ = Glibc.shutdown(socket, Int32(SHUT_WR))
        #else
            _ = Darwin.shutdown(socket, SHUT_WR)
        #endif
    }

    /// Waits for more bytes; false once the gateway has closed the connection.
    private func receiveMore() async throws -> Bool {
        guard !ended else { return false }
        let socket = self.socket
        let (bytes, failure) = await withCheckedContinuation { (continuation: CheckedContinuation<([UInt8], Int32), Never>) in
            DispatchQueue.global().async {
                var buffer = [UInt8](repeating: 0, count: 1 << 16)
                while true {
                    let count = buffer.withUnsafeMutableBytes { recv(socket, $0.baseAddress, $0.count, 0) }
                    if count >= 0 { return continuation.resume(returning: (Array(buffer[..<count]), 0)) }
                    if errno != EINTR { return continuation.resume(returning: ([], errno)) }
                }
            }
        }
        switch failure {
        case 0 where bytes.isEmpty, ECONNRESET:
            ended = true
            return false
        case 0:
            received += bytes
            return true
        case EAGAIN, EWOULDBLOCK:
            throw RawConnectionError(
                description: "nothing came for \(Self.readTimeoutSeconds) s after \(answers) answer(s); unread: "
                    + String(decoding: received, as: UTF8.self))
        default:
            throw RawConnectionError(description: "recv: \(String(cString: strerror(failure)))")
        }
    }

    /// Reads until `text` has come (it stays to be read as part of an answer).
    func receive(until text: String) async throws {
        while !hasReceived(text) {
            guard try await receiveMore() else {
                throw RawConnectionError(description: "the connection ended before \(text): \(String(decoding: received, as: UTF8.self))")
            }
        }
    }

    /// Waits for `text`, then takes everything received up to and including it.
    func take(through text: String) async throws -> String {
        try await receive(until: text)
        let end = received.firstRange(of: Array(text.utf8))!.upperBound
        defer { received.removeFirst(end) }
        return String(decoding: received[..<end], as: UTF8.self)
    }

    /// Whether `text` is among the bytes read and not yet taken.
    func hasReceived(_ text: String) -> Bool {
        received.firstRange(of: Array(text.utf8)) != nil
    }

    /// Whether any byte has come that was not taken yet, read or still in the socket, without waiting.
    func hasBytesWaiting() -> Bool {
        guard received.isEmpty else { return true }
        var byte: UInt8 = 0
        return recv(socket, &byte, 1, Int32(MSG_PEEK | MSG_DONTWAIT)) > 0
    }

    /// The next whole answer. Throws when the connection ends first.
    func readAnswer() async throws -> MockHTTPResponse {
        while true {
            if let (answer, length) = try Self.parseAnswer(received, atEnd: ended) {
                received.removeFirst(length)
                answers += 1
                return answer
            }
            guard try await receiveMore() else {
                if let (answer, length) = try Self.parseAnswer(received, atEnd: true) {
                    received.removeFirst(length)
                    answers += 1
                    return answer
                }
                throw RawConnectionError(
                    description: "the connection ended after \(answers) answer(s) and \(received.count) bytes of the next: "
                        + String(decoding: received, as: UTF8.self))
            }
        }
    }

    /// Reads until the gateway closes the connection and returns what came meanwhile (throws when
    /// it stays open for 20 s).
    func readToEnd() async throws -> [UInt8] {
        while try await receiveMore() {}
        defer { received = [] }
        return received
    }

    private static let lineEnd: [UInt8] = [13, 10]

    /// The answer at the front of `bytes` and how many bytes it takes, nil while it is incomplete. A
    /// body with neither `Content-Length` nor chunks runs to the end of the connection.
    static func parseAnswer(_ bytes: [UInt8], atEnd: Bool) throws -> (MockHTTPResponse, Int)? {
        guard let headEnd = bytes.firstRange(of: [13, 10, 13, 10]) else { return nil }
        let head = String(decoding: bytes[..<headEnd.lowerBound], as: UTF8.self)
        var lines = head.components(separatedBy: "\r\n")
        let statusLine = lines.removeFirst().split(separator: " ", maxSplits: 2)
        guard statusLine.count >= 2, statusLine[0].hasPrefix("HTTP/1."), let status = Int(statusLine[1]) else {
            throw RawConnectionError(description: "not an HTTP answer: \(head)")
        }
        let headers = lines.compactMap { line -> (String, String)? in
            guard let colon = line.firstIndex(of: ":") else { return nil }
            return (line[..<colon].lowercased(), line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces))
        }
        func answer(_ body: [UInt8]) -> MockHTTPResponse {
            MockHTTPResponse(status: status, headers: headers, body: body, bodyError: nil)
        }
        let start = headEnd.upperBound
        let field = { (name: String) in headers.first { $0.0 == name }?.1 }

        if field("transfer-encoding")?.lowercased().contains("chunked") == true {
            var body: [UInt8] = []
            var index = start
            while true {
                guard let sizeEnd = bytes[index...].firstRange(of: lineEnd) else { return nil }
                let sizeText = String(decoding: bytes[index..<sizeEnd.lowerBound], as: UTF8.self)
                guard let size = Int(sizeText.split(separator: ";").first?.trimmingCharacters(in: .whitespaces) ?? "", radix: 16) else {
                    throw RawConnectionError(description: "bad chunk size '\(sizeText)'")
                }
                index = sizeEnd.upperBound
                if size == 0 {
                    // Trailer fields up to an empty line.
                    while true {
                        guard let end = bytes[index...].firstRange(of: lineEnd) else { return nil }
                        let empty = end.lowerBound == index
                        index = end.upperBound
                        if empty { return (answer(body), index) }
                    }
                }
                guard bytes.count >= index + size + 2 else { return nil }
                body += bytes[index..<index + size]
                guard bytes[index + size] == 13, bytes[index + size + 1] == 10 else {
                    throw RawConnectionError(description: "a chunk of \(size) bytes does not end in CRLF")
                }
                index += size + 2
            }
        }
        if let lengthText = field("content-length") {
            guard let length = Int(lengthText) else { throw RawConnectionError(description: "bad content-length '\(lengthText)'") }
            guard bytes.count >= start + length else { return nil }
            return (answer(Array(bytes[start..<start + length])), start + length)
        }
        if status == 204 || status == 304 || (100..<200).contains(status) { return (answer([]), start) }
        guard atEnd else { return nil }
        return (answer(Array(bytes[start...])), bytes.count)
    }
}
