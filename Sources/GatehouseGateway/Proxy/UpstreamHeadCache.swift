import GatehouseCore
import GatehouseHTTP
import NIOHTTP1
import Synchronization

/// The heads of upstream requests, encoded once: the requests of one credential to one provider
/// share a head while the client's forwarded headers are the same (a client sends the same ones
/// every time; those that change with every request go after the head). A head is made again for a
/// new secret (a refreshed OAuth token, an edited key), which drops the old secret's, a new
/// configuration, or other forwarded headers.
final class UpstreamHeadCache: Sendable {
    private struct Entry: Sendable {
        /// The configuration it was made with (held, so that its identity is never another's).
        let configuration: GatewayState.Snapshot
        let profile: ProfileID
        let secret: String
        let url: UpstreamURL
        let forwarded: HTTPHeaders
        let head: UpstreamRequest.Head
    }

    /// The most recently made last.
    private let entries = Mutex<[Entry]>([])
    /// Heads kept; the oldest goes first.
    static let capacity = 64

    /// The head of a request with `profile`'s credential `secret` for `planned`: a kept one, or
    /// the one `make` makes (kept for the requests that follow).
    func head<Failure: Error>(
        profile: ProfileID, secret: String, for planned: ProxyEngine.PlannedRequest,
        make: () throws(Failure) -> UpstreamRequest.Head
    ) throws(Failure) -> UpstreamRequest.Head {
        let kept = entries.withLock { entries in
            entries.last { entry in
                entry.configuration === planned.snapshot && entry.profile == profile && entry.secret == secret
                    && entry.url == planned.url && Self.same(entry.forwarded, planned.forwarded)
            }?.head
        }
        if let kept { return kept }
        let made = try make()
        let entry = Entry(
            configuration: planned.snapshot, profile: profile, secret: secret, url: planned.url, forwarded: planned.forwarded, head: made)
        entries.withLock { entries in
            if let first = entries.first, first.configuration !== planned.snapshot { entries.removeAll() }
            // A secret that was replaced is not kept in memory longer than needed.
            entries.removeAll { $0.profile == profile && $0.secret != secret }
            if entries.count >= Self.capacity { entries.removeFirst() }
            entries.append(entry)
        }
        return made
    }

    /// The same headers in the same order.
    private static func same(_ a: HTTPHeaders, _ b: HTTPHeaders) -> Bool {
        a.count == b.count && zip(a, b).allSatisfy { $0.name == $1.name && $0.value == $1.value }
    }
}
