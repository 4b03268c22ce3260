import ArgumentParser
import GatehouseGateway
import GatehouseStore
import Logging

/// `gatehouse gateway`.
struct GatewayCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gateway",
        abstract: "Run the gateway: OpenAI- and Anthropic-compatible endpoints served through the agents' credentials.",
        discussion: """
            Routes: POST /v1/chat/completions (OpenAI wire), POST /v1/messages (Anthropic wire), \
            GET /v1/models, GET /healthz. Clients authenticate with the token in GATEHOUSE_HOME/gateway-token \
            (created on first start) as `Authorization: Bearer <token>` or `x-api-key: <token>`. The model \
            is "provider/model"; X-Gatehouse-Agent picks the agent, X-Gatehouse-Session the session. \
            SIGTERM or SIGINT drains and stops; SIGHUP reloads gatehouse.json (an invalid file is refused \
            and the running configuration kept). Logs go to standard error (GATEHOUSE_LOG_LEVEL: info by default).
            """
    )

    @OptionGroup var global: GlobalOptions

    @Option(help: "Address to listen on (default: gateway.bind, 127.0.0.1).")
    var bind: String?

    @Option(help: "Port (default: gateway.port, 18789; 0 picks a free one).")
    var port: Int?

    @Option(help: "Largest model request body in bytes; larger ones get 413 (default: gateway.maxBodyBytes, 32 MiB).")
    var maxBodyBytes: Int?

    @Option(help: "Seconds SIGTERM/SIGINT wait for answers in progress before cutting them (default: gateway.drainTimeoutSeconds, 30).")
    var drainTimeout: Int?

    func validate() throws {
        if let maxBodyBytes, maxBodyBytes < 1024 { throw ValidationError("--max-body-bytes must be at least 1024") }
        if let drainTimeout, !(0...3600).contains(drainTimeout) { throw ValidationError("--drain-timeout must be from 0 to 3600 seconds") }
    }

    func run() async throws {
        // Swift concurrency runs on the server's event loops: a request's tasks stay on the thread of
        // its connection instead of hopping between a separate thread pool and the event loops.
        let onEventLoops = EventLoopConcurrency.install()
        let context = try CommandContext(global, defaultLogLevel: .info)
        if onEventLoops {
            context.logger.debug("Swift concurrency runs on the event loops")
        } else {
            context.logger.notice("Swift concurrency runs on its own threads: its global enqueue hook was taken or has an unknown layout")
        }
        let home = context.home
        let gateway = Gateway(
            home: home, options: .init(bind: bind, port: port, maxBodyBytes: maxBodyBytes, drainTimeoutSeconds: drainTimeout),
            environment: context.environment, logger: context.logger)
        try await gateway.run { bind, port in
            FileHandleStandardError.write("gatehouse gateway listening on http://\(bind):\(port) (token in \(home.gatewayTokenPath))\n")
        }
    }
}
