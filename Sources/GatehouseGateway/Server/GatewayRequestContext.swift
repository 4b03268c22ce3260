import Hummingbird
import NIOCore

/// The request context of the gateway's routes: it keeps the client's connection, so that a client
/// that hangs up can cancel the upstream request made for it.
struct GatewayRequestContext: RequestContext {
    var coreContext: CoreRequestContextStorage
    let channel: any Channel

    init(source: ApplicationRequestContextSource) {
        self.coreContext = .init(source: source)
        self.channel = source.channel
    }

    /// The gateway reads bodies itself, with its own limit (413 in the route's wire format).
    var maxUploadSize: Int { 32 << 20 }
}
