import GatehouseCore
import GatehouseHTTP
import NIOCore

/// Where a model request goes under one configuration: its agent, its provider and the provider's
/// own model id, checked against the configuration.
final class ModelRoute: Sendable {
    let snapshot: GatewayState.Snapshot
    /// The configuration's generation (`GatewayState.generation`).
    let generation: Int
    let api: WireAPI
    /// The `X-Gatehouse-Agent` header as the client sent it (nil for none).
    let agentHeader: String?
    /// The `model` field as the client sent it (`provider/model`).
    let model: String
    let runtime: AgentRuntime
    let provider: ProviderDefinition
    let providerID: String
    let modelID: String
    /// `modelID` as a JSON string, as it goes into the upstream body.
    let encodedModelID: ByteBuffer
    /// The provider's upstream URL (nil when it has none).
    let upstreamURL: Result<UpstreamURL, UpstreamError>?

    init(
        snapshot: GatewayState.Snapshot, generation: Int, api: WireAPI, agentHeader: String?, model: String, runtime: AgentRuntime,
        provider: ProviderDefinition, providerID: String, modelID: String, upstreamURL: Result<UpstreamURL, UpstreamError>?
    ) {
        self.snapshot = snapshot
        self.generation = generation
        self.api = api
        self.agentHeader = agentHeader
        self.model = model
        self.runtime = runtime
        self.provider = provider
        self.providerID = providerID
        self.modelID = modelID
        self.encodedModelID = ProxyEngine.encodedModelID(modelID)
        self.upstreamURL = upstreamURL
    }

    /// Whether a request that names `agentHeader` has this route's agent, under the configuration
    /// of `generation` (its provider and model are compared once its body is read).
    func serves(agentHeader: String?, generation: Int) -> Bool {
        self.generation == generation && self.agentHeader == agentHeader
    }

    /// Whether a request of this route's agent and configuration, on the `api` route for `model`
    /// (as the client sent it), goes where this route does.
    func serves(api: WireAPI, model: String) -> Bool {
        self.api == api && self.model == model
    }
}

/// What a client connection keeps from its last model request, for the next one: clients send
/// their requests on kept-alive connections, most of them to the same model with the same
/// credential. While nothing they were made from has changed, the next request reuses the route,
/// the plan and the upstream head without looking them up in what the gateway keeps for every
/// connection: those lookups take no lock the event loops share and write to no memory they
/// share. Used on the connection's event loop only. A credential that was replaced stays here
/// (in the plan and the head) until the connection's next request or its end.
final class ConnectionMemo {
    /// The last route. A new one drops the plan and the head (which are checked against what they
    /// were made from anyway: this only lets go of what the route no longer needs).
    var route: ModelRoute? {
        didSet {
            if route !== oldValue {
                plan = nil
                head = nil
            }
        }
    }
    var plan: AgentRuntime.KeptPlan?
    var head: UpstreamHeadCache.Entry?

    init() {}
}

@available(*, unavailable)
extension ConnectionMemo: Sendable {}
