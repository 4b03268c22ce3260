import GatehouseCore
import GatehouseStore
import HTTPTypes
import Hummingbird
import NIOHTTP1

/// The gateway's routes served by the router. The model routes (`POST /v1/chat/completions`,
/// `POST /v1/messages`) are served in the connection's pipeline, by `ModelRouteHandler`.
struct GatewayRoutes: Sendable {
    let engine: ProxyEngine
    let catalog: ModelCatalog

    /// Each route answers HEAD as GET; the connection's handler sends the head alone (`ModelRouteHandler`).
    func add(to router: Router<BasicRequestContext>) {
        router.get("/v1/models") { request, _ in models(request) }
        router.head("/v1/models") { request, _ in models(request) }
        router.get("/healthz") { _, _ in health() }
        router.head("/healthz") { _, _ in health() }
    }

    private func health() -> Response {
        Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(string: #"{"status":"ok"}"#)))
    }

    /// Every `provider/model` the agent has auth for (`?all=true`: every model), from the agent's
    /// prepared view, with its availability now.
    private func models(_ request: Request) -> Response {
        do {
            try engine.access.check(authorization: request.headers[.authorization], apiKey: request.headers[.xAPIKey])
            let snapshot = engine.state.current
            let agentID = request.headers[.gatehouseAgent] ?? snapshot.defaultAgentID
            guard let runtime = try engine.state.configuredRuntime(for: agentID, in: snapshot) else {
                throw WireError(status: .badRequest, kind: .invalidRequest, message: "unknown agent '\(agentID)' (X-Gatehouse-Agent)")
            }
            let view: PreparedModelView
            switch catalog.view(for: agentID) {
            case .success(let prepared): view = prepared
            case .failure(let error): throw WireError(status: .internalServerError, kind: .upstream, message: error.message)
            }
            // A routing file that does not parse leaves the health as it is; the listing still answers.
            _ = try? runtime.currentRouting()
            let availability = view.availability(stats: runtime.recorder.allStats(), now: WallClock.nowMillis())
            let body = view.listJSON(availability: availability, all: request.uri.queryParameters["all"] == "true")
            return Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: body)))
        } catch let error as WireError {
            return Self.response(error)
        } catch {
            return Self.response(WireError(status: .internalServerError, kind: .upstream, message: "\(error)"))
        }
    }

    private static func response(_ error: WireError) -> Response {
        Response(
            status: .init(code: Int(error.status.code)), headers: [.contentType: "application/json"],
            body: .init(byteBuffer: error.body(for: .openAIChat)))
    }
}
