import Foundation
import GatehouseCore
import GatehouseTestSupport
import Testing

/// Many keep-alive clients at once, each sending request after request on its one connection:
/// every answer comes whole with a 200 and the body of its kind, no connection is closed before
/// its last answer, and every request the gateway logs has status 200. Streamed answers are followed
/// at once by others on the same connection: the hand-over where a late "answer broke off" once
/// closed the next answer's connection (a race this test makes possible, not certain: it was seen
/// under the release build's benchmark load). A real `gatehouse gateway` in front of
/// `gatehouse-mock-upstream`, over raw loopback TCP.
@Suite("gateway: many keep-alive clients at once", .serialized)
struct ConcurrentClientsTests {
    static let clients = 24
    static let requestsPerClient = 40

    /// What a client asks for.
    enum Kind {
        case chat, streamedChat, message
    }

    /// The order of kinds on a connection, shifted by the client's number so that the connections
    /// are out of step: a streamed answer is followed by each kind (another stream, a plain chat
    /// answer, a message), the answers whose connection a stale "broke off" could close.
    static let pattern: [Kind] = [.streamedChat, .streamedChat, .chat, .streamedChat, .message, .chat]

    static func kind(client: Int, request: Int) -> Kind {
        pattern[(client + request) % pattern.count]
    }

    @Test("24 clients at once, 40 keep-alive requests each, chat, streamed and messages mixed: every answer whole and 200, none cut off")
    func manyKeepAliveClientsGetEveryAnswer() async throws {
        try await withWorld { world in
            try await world.addKey("openai", "k1", key: "key-1")
            try await world.addKey("anthropic", "a1", key: "key-a1")
            try await GatewayProcess.with(home: world.home) { gateway in
                try await withThrowingTaskGroup(of: Void.self) { clients in
                    for client in 0..<Self.clients {
                        // The reads of `RawConnection` block Dispatch threads, not the cooperative
                        // pool: a task per client waits for its answer without holding a pool thread,
                        // and a blocked read always has a request in flight, so none waits on another.
                        clients.addTask { try await Self.runClient(client, gateway) }
                    }
                    try await clients.waitForAll()
                }

                // Request lines are gathered for a few milliseconds before they are written: wait for all.
                let total = Self.clients * Self.requestsPerClient
                let requestLines = { gateway.process.stderrSoFar.split(separator: "\n").filter { $0.hasSuffix(" request") } }
                let allLogged = await eventually(timeout: .seconds(5)) { requestLines().count >= total }
                #expect(allLogged, "\(requestLines().count) request lines for \(total) requests")
                #expect(requestLines().count == total, "one line per request")
                // Each line whole, where the lines of both event loops were gathered and written:
                // `2026-11-22T21:39:51+0000 info gatehouse: agent=main attempts=1 ... [GatehouseGateway] request`.
                let malformed = requestLines().filter { line in
                    !(line.first?.isNumber ?? false) || !line.contains(" info gatehouse: agent=main attempts=1 ")
                        || !(line.hasSuffix(" wire=openai-chat [GatehouseGateway] request")
                            || line.hasSuffix(" wire=anthropic-messages [GatehouseGateway] request"))
                }
                #expect(malformed.isEmpty, "\(malformed.prefix(3))")
                let lines = gateway.process.stderrSoFar.split(separator: "\n")
                let notOK = lines.filter { $0.contains("status=") && !$0.contains(" status=200 ") }
                #expect(notOK.isEmpty, "log lines with a status other than 200: \(notOK.prefix(10))")
            }
        }
    }

    /// One client: a connection, and its requests one after another, each sent once the answer
    /// before it has come whole.
    static func runClient(_ client: Int, _ gateway: GatewayProcess) async throws {
        let connection = try RawConnection(to: gateway)
        for index in 0..<requestsPerClient {
            let kind = kind(client: client, request: index)
            let name = "client \(client), request \(index + 1) of \(requestsPerClient) (\(kind))"
            switch kind {
            case .chat: try connection.send(RawRequest.chat(gateway))
            case .streamedChat: try connection.send(RawRequest.chat(gateway, stream: true))
            case .message: try connection.send(RawRequest.messages(gateway))
            }
            // Throws when the gateway closes the connection before the whole answer came.
            let answer: MockHTTPResponse
            do {
                answer = try await connection.readAnswer()
            } catch {
                throw RawConnectionError(description: "\(name): \(error)")
            }
            #expect(answer.status == 200, "\(name): \(answer.summary)")
            #expect(answer.header("connection")?.lowercased() != "close", "\(name): the gateway means to close the connection")
            switch kind {
            case .chat:
                #expect(answer.json?["object"] == "chat.completion", "\(name): \(answer.summary)")
            case .streamedChat:
                #expect(answer.events.last?.data == "[DONE]", "\(name): the stream did not end with [DONE]: \(answer.text)")
                #expect(answer.text.hasSuffix("data: [DONE]\n\n"), "\(name): \(answer.text)")
            case .message:
                #expect(answer.json?["type"] == "message", "\(name): \(answer.summary)")
            }
        }
    }
}
