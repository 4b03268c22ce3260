/// The idle connections of the upstream pool, by endpoint and event loop. A lease prefers a
/// connection on the caller's event loop (no thread hop), then the most recently used one of any
/// loop (still warm), and else asks for a new connection on the caller's loop. A lease that lends
/// another loop's connection also asks for one to be opened on the caller's loop (one at a time per
/// loop, within the idle limit): a client connection served by one loop would otherwise borrow
/// across threads for as long as the borrowed connection lives.
struct UpstreamPoolStateMachine<Connection> {
    struct Idle {
        var id: Int
        var loop: ObjectIdentifier
        var connection: Connection
    }

    enum Lease {
        /// `openOnCallersLoop`: the connection is another loop's; open one on the caller's loop for
        /// later requests, and report the outcome with `opened(_:loop:)`.
        case use(Connection, openOnCallersLoop: Bool)
        case connect
        case shutDown
    }

    enum Park {
        case parked
        /// Shut down, or enough idle connections already: close this one.
        case close
    }

    private var idle: [UpstreamURL.Endpoint: [Idle]] = [:]
    /// The loops a connection is being opened on for later requests, by endpoint.
    private var opening: [UpstreamURL.Endpoint: Set<ObjectIdentifier>] = [:]
    private(set) var isShutDown = false
    let maximumIdlePerEndpoint: Int

    init(maximumIdlePerEndpoint: Int) {
        self.maximumIdlePerEndpoint = maximumIdlePerEndpoint
    }

    /// The loops of an endpoint's idle connections, least recently parked first.
    func idleLoops(_ endpoint: UpstreamURL.Endpoint) -> [ObjectIdentifier] {
        idle[endpoint]?.map(\.loop) ?? []
    }

    /// Idle connections of every endpoint.
    var idleCount: Int { idle.values.reduce(0) { $0 + $1.count } }

    /// - Parameter loop: the caller's event loop; nil for a caller that has none (any loop's
    ///   connection is as good, and none is opened for later).
    mutating func lease(_ endpoint: UpstreamURL.Endpoint, loop: ObjectIdentifier?) -> Lease {
        if isShutDown { return .shutDown }
        guard let list = idle[endpoint], !list.isEmpty else { return .connect }
        if let local = list.lastIndex(where: { $0.loop == loop }) {
            return .use(idle[endpoint]!.remove(at: local).connection, openOnCallersLoop: false)
        }
        let borrowed = idle[endpoint]!.removeLast().connection
        guard let loop else { return .use(borrowed, openOnCallersLoop: false) }
        let openingHere = opening[endpoint, default: []]
        // The borrowed connection comes back too: it counts toward the idle limit.
        let open = !openingHere.contains(loop) && list.count + openingHere.count < maximumIdlePerEndpoint
        if open { opening[endpoint, default: []].insert(loop) }
        return .use(borrowed, openOnCallersLoop: open)
    }

    /// The connection `lease` asked for on `loop` was opened (and parked, or not) or could not be.
    mutating func opened(_ endpoint: UpstreamURL.Endpoint, loop: ObjectIdentifier) {
        opening[endpoint]?.remove(loop)
        if opening[endpoint]?.isEmpty == true { opening[endpoint] = nil }
    }

    mutating func park(_ connection: Connection, id: Int, endpoint: UpstreamURL.Endpoint, loop: ObjectIdentifier) -> Park {
        if isShutDown || idle[endpoint, default: []].count >= maximumIdlePerEndpoint { return .close }
        idle[endpoint, default: []].append(Idle(id: id, loop: loop, connection: connection))
        return .parked
    }

    /// Takes a connection out of the idle list (it closed, or stayed idle too long). Returns whether
    /// it was idle; false means a lease took it first.
    mutating func remove(id: Int, endpoint: UpstreamURL.Endpoint) -> Bool {
        guard let index = idle[endpoint]?.firstIndex(where: { $0.id == id }) else { return false }
        idle[endpoint]!.remove(at: index)
        if idle[endpoint]!.isEmpty { idle[endpoint] = nil }
        return true
    }

    /// Refuses later leases and parks; returns the idle connections to close.
    mutating func shutDown() -> [Connection] {
        isShutDown = true
        defer { idle = [:] }
        return idle.values.flatMap { $0.map(\.connection) }
    }
}
