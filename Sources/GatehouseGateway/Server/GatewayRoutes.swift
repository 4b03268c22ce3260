import GatehouseCore
import GatehouseStore
import HTTPTypes
import Hummingbird

/// The gateway's HTTP routes.
struct GatewayRoutes: Sendable {
    let engine: ProxyEngine

    func add(to router: Router<GatewayRequestContext>) {
        router.post("/v1/chat/completions") { request, context in await engine.handle(request, api: .openAIChat, channel: context.channel) }
        router.post("/v1/messages") { request, context in await engine.handle(request, api: .anthropicMessages, channel: context.channel) }
        router.get("/v1/models") { request, _ in models(request) }
        router.get("/healthz") { _, _ in
            Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(string: #"{"status":"ok"}"#)))
        }
    }

    /// Every `provider/model` of the catalog the agent can use: it has an eligible profile, a key in
    /// the environment, or the provider runs locally. `?all=true` lists every model.
    private func models(_ request: Request) -> Response {
        do {
            try engine.access.check(request)
            let snapshot = engine.state.current
            let agentID = request.headers[.gatehouseAgent] ?? snapshot.configuration.defaultAgentID
            guard let runtime = try engine.state.configuredRuntime(for: agentID, in: snapshot) else {
                throw WireError(status: .badRequest, kind: .invalidRequest, message: "unknown agent '\(agentID)' (X-Gatehouse-Agent)")
            }
            let all = request.uri.queryParameters["all"] == "true"
            let now = WallClock.nowMillis()
            let profiles = try runtime.profiles.current().get().sortedProfiles + snapshot.environmentProfiles
            let ready = Set(profiles.filter { $0.isEligible(now: now, using: snapshot.resolver) }.map(\.provider))
            var data: [JSONValue] = []
            for provider in snapshot.providers.values.sorted(by: { $0.id < $1.id }) {
                let hasAuth = ready.contains(provider.id) || provider.isLocal
                guard hasAuth || all else { continue }
                for model in provider.models {
                    var entry: [String: JSONValue] = [
                        "id": .string("\(provider.id)/\(model.id)"), "object": "model", "created": 0, "owned_by": .string(provider.id),
                        "name": .string(model.name), "available": .bool(hasAuth),
                    ]
                    if let window = model.contextWindow { entry["context_window"] = .int(Int64(window)) }
                    if !hasAuth { entry["unavailable_reason"] = "missing_auth" }
                    data.append(.object(entry))
                }
            }
            let body: JSONValue = ["object": "list", "data": .array(data)]
            return Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: body.serialized(pretty: false))))
        } catch let error as WireError {
            return error.response(for: .openAIChat, requestID: "-")
        } catch {
            return WireError(status: .internalServerError, kind: .upstream, message: "\(error)").response(for: .openAIChat, requestID: "-")
        }
    }
}
