import ArgumentParser
import GatehouseCore
import Hummingbird
import Synchronization
import Glibc
import Logging

/// A fake model provider for Gatehouse's tests and benchmarks: an OAuth token endpoint with
/// single-use refresh tokens, authorization (PKCE) and device flows, OpenAI and Anthropic model
/// endpoints (plain and streamed) with faults per credential, and counters, all on loopback.
@main
struct MockUpstream: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gatehouse-mock-upstream",
        abstract: "A fake AI provider that speaks the OAuth, OpenAI and Anthropic wire formats, for tests and benchmarks.",
        discussion: """
            Prints `listening on http://127.0.0.1:PORT` once it accepts connections. Serves \
            POST /v1/chat/completions and POST /v1/messages. Behaviour is set over HTTP: \
            POST /admin/config, POST /admin/oauth/account, POST /admin/device/decide, \
            POST|DELETE /admin/keys, POST /admin/reset; GET /admin/counters and \
            GET /admin/last-request read what happened.
            """
    )

    @Option(help: "Address to listen on (loopback only makes sense).")
    var host = "127.0.0.1"

    @Option(help: "Port; 0 picks a free one.")
    var port = 0

    @Option(help: "Lifetime of issued access tokens, in seconds.")
    var tokenLifetime: Int64 = 3600

    @Option(help: "Delay before the token endpoint answers, in milliseconds.")
    var tokenLatency: Int64 = 0

    @Option(help: "How many content pieces a streamed model answer has.")
    var streamChunks = 5

    func run() async throws {
        let state = MockState()
        state.state.withLock {
            $0.settings.tokenLifetimeSeconds = tokenLifetime
            $0.settings.tokenLatencyMilliseconds = tokenLatency
        }
        let router = Router()
        MockOAuthRoutes(state: state).add(to: router)
        MockModelRoutes(state: state, replies: CannedReplies(streamChunks: streamChunks)).add(to: router)
        MockAdminRoutes(state: state).add(to: router)
        var logger = Logger(label: "gatehouse-mock-upstream")
        logger.logLevel = .warning
        let app = Application(
            router: router,
            configuration: .init(address: .hostname(host, port: port), serverName: "gatehouse-mock-upstream"),
            onServerRunning: { channel in
                let bound = channel.localAddress?.port ?? 0
                standardOutputLine("listening on http://\(host):\(bound)")
            },
            logger: logger)
        try await app.runService()
    }
}

/// Writes one line to standard output at once (tests wait for it).
func standardOutputLine(_ text: String) {
    let bytes = Array((text + "\n").utf8)
    bytes.withUnsafeBytes { _ = write(1, $0.baseAddress, $0.count) }
}
