/// The idle connections of the upstream pool, by endpoint and event loop. A lease prefers a
/// connection on the caller's event loop (no thread hop), then the most recently used one of any
/// loop (still warm), and else asks for a new connection on the caller's loop.
struct UpstreamPoolStateMachine<Connection> {
    struct Idle {
        var id: Int
        var loop: ObjectIdentifier
        var connection: Connection
    }

    enum Lease {
        case use(Connection)
        case connect
        case shutDown
    }

    enum Park {
        case parked
        /// Shut down, or enough idle connections already: close this one.
        case close
    }

    private var idle: [UpstreamURL.Endpoint: [Idle]] = [:]
    private(set) var isShutDown = false
    let maximumIdlePerEndpoint: Int

    init(maximumIdlePerEndpoint: Int) {
        self.maximumIdlePerEndpoint = maximumIdlePerEndpoint
    }

    /// Idle connections of every endpoint.
    var idleCount: Int { idle.values.reduce(0) { $0 + $1.count } }

    mutating func lease(_ endpoint: UpstreamURL.Endpoint, loop: ObjectIdentifier) -> Lease {
        if isShutDown { return .shutDown }
        guard let list = idle[endpoint], !list.isEmpty else { return .connect }
        let index = list.lastIndex { $0.loop == loop } ?? list.count - 1
        return .use(idle[endpoint]!.remove(at: index).connection)
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
