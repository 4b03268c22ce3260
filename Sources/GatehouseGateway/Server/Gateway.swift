import GatehouseCore
import GatehouseHTTP
import GatehouseStore
import Hummingbird
import Logging
import NIOCore
import NIOPosix
import ServiceLifecycle
import UnixSignals

/// The gateway: an HTTP server with the OpenAI- and Anthropic-compatible routes, and the services
/// around it (health flushes, background OAuth refreshes, configuration reloads).
public struct Gateway: Sendable {
    public struct Options: Sendable {
        /// Each nil option takes its value from `gatehouse.json` (`gateway.*`).
        public var bind: String?
        public var port: Int?
        /// Model requests larger than this are refused (413).
        public var maxBodyBytes: Int?
        /// How long a graceful stop waits for answers in progress.
        public var drainTimeoutSeconds: Int?
        public init(bind: String? = nil, port: Int? = nil, maxBodyBytes: Int? = nil, drainTimeoutSeconds: Int? = nil) {
            self.bind = bind
            self.port = port
            self.maxBodyBytes = maxBodyBytes
            self.drainTimeoutSeconds = drainTimeoutSeconds
        }
    }

    public let home: GatehouseHome
    public let options: Options
    public let environment: [String: String]
    public let logger: Logger

    public init(home: GatehouseHome, options: Options, environment: [String: String], logger: Logger) {
        self.home = home
        self.options = options
        self.environment = environment
        self.logger = logger
    }

    /// Runs until SIGTERM or SIGINT, then drains in-flight requests (for at most the drain timeout;
    /// answers still going then are cut) and flushes health state.
    /// `onListening` gets the bound address once the server accepts connections.
    public func run(onListening: @escaping @Sendable (String, Int) -> Void = { _, _ in }) async throws {
        try home.create()
        let configuration = try ConfigurationFile.load(home, environment: environment)
        let (access, created) = try AccessControl.load(home)
        if created {
            logger.notice("created the gateway token", metadata: ["path": "\(home.gatewayTokenPath)"])
        }
        let state = try GatewayState(home: home, configuration: configuration, environment: environment, logger: logger)
        var tokenConfiguration = OAuthTokenManager.Configuration()
        tokenConfiguration.margin = configuration.auth.refreshMargin
        let tokens = OAuthTokenManager(
            home: home, providers: state.current.providers, endpoint: HTTPTokenEndpoint(), configuration: tokenConfiguration,
            backgroundRefresh: true, logger: logger,
            onLoginRequired: { key, message in
                guard let runtime = try? state.configuredRuntime(for: key.agent) else { return }
                let fingerprint = try? runtime.profiles.current().get().profiles[key.profile]?.fingerprint(using: StaticSecretResolver())
                runtime.recorder.markFailure(
                    key.profile, model: nil, classification: FailureClassification(reason: .authPermanent), credentialFingerprint: fingerprint ?? nil)
                state.logger.error("login required", metadata: ["auth.profile": "\(key.profile)", "agent": "\(key.agent)", "reason": "\(message)"])
            })
        // Provider requests: the pooled client on the server's own event loops (timeouts: connect 10 s,
        // first byte 600 s, 300 s between two pieces of an answer).
        let upstream = UpstreamHTTPClient()
        let engine = ProxyEngine(state: state, upstream: upstream, tokens: tokens, access: access, logger: logger, maxBodyBytes: options.maxBodyBytes ?? configuration.gateway.maxBodyBytes)
        let catalog = ModelCatalog(state: state, logger: logger)
        let reloader = ConfigurationReloader(state: state, tokens: tokens, catalog: catalog)
        let router = Router(context: BasicRequestContext.self)
        GatewayRoutes(engine: engine, catalog: catalog).add(to: router)
        let bind = options.bind ?? configuration.gateway.bind
        let port = options.port ?? configuration.gateway.port
        var serverLogger = logger
        serverLogger.logLevel = max(logger.logLevel, .notice)
        let app = Application(
            router: router,
            // The model routes are served in the connection's pipeline, ahead of the router.
            server: GatewayHTTP1Channel.server(engine: engine),
            configuration: .init(address: .hostname(bind, port: port), serverName: "gatehouse"),
            onServerRunning: { channel in
                let bound = channel.localAddress?.port ?? port
                onListening(bind, bound)
            },
            logger: serverLogger)
        // A stop ends the services in the reverse of this order, each after the one before it: the
        // server first (its drain), the health flushes last, so that what the drained answers
        // recorded is written.
        var groupConfiguration = ServiceGroupConfiguration(
            services: [
                .init(service: HealthFlushSupervisor(state: state)), .init(service: OAuthRefreshService(manager: tokens)),
                .init(service: ConfigReloadService(reloader: reloader)), .init(service: ModelViewService(catalog: catalog, reloader: reloader)),
                .init(service: app),
            ],
            gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
        // After the drain timeout the server is cancelled: the answers still going are cut (their
        // upstream requests cancelled) and the other services stop as on a graceful stop.
        groupConfiguration.maximumGracefulShutdownDuration = .seconds(options.drainTimeoutSeconds ?? configuration.gateway.drainTimeoutSeconds)
        let group = ServiceGroup(configuration: groupConfiguration)
        do {
            try await group.run()
        } catch {
            await upstream.shutdown()
            await StandardErrorOutput.flush(.singleton)
            throw error
        }
        await upstream.shutdown()
        // The last request lines are out before the process exits.
        await StandardErrorOutput.flush(.singleton)
    }
}

/// Reloads `gatehouse.json` on SIGHUP; an invalid file leaves the running configuration in place.
struct ConfigReloadService: Service {
    let reloader: ConfigurationReloader

    func run() async throws {
        let signals = await UnixSignalsSequence(trapping: .sighup)
        await withGracefulShutdownHandler {
            for await _ in signals.cancelOnGracefulShutdown() {
                reloader.reload(trigger: "SIGHUP")
            }
        } onGracefulShutdown: {}
    }
}
