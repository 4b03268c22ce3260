import GatehouseCore
import GatehouseHTTP
import NIOHTTP1
import Synchronization

/// The heads of upstream requests, encoded once: the requests of one credential to one provider
/// share a head while the client's forwarded headers are the same (a client sends the same ones
/// every time; those that change with every request go after the head). A head is made again for a
/// new secret (a refreshed OAuth token, an edited key), which drops the old secret's from here, a
/// new configuration, or other forwarded headers. A client connection keeps the head of its last
/// request too (`ConnectionMemo`).
final class UpstreamHeadCache: Sendable {
    /// A class: a request takes its connection's kept entry by one reference, not a copy of each
    /// field.
    final class Entry: Sendable {
        /// The configuration it was made with (held, so that its identity is never another's).
        let configuration: GatewayState.Snapshot
        let profile: ProfileID
        let secret: String
        let url: UpstreamURL
        let forwarded: HTTPHeaders
        let head: UpstreamRequest.Head

        init(
            configuration: GatewayState.Snapshot, profile: ProfileID, secret: String, url: UpstreamURL, forwarded: HTTPHeaders,
            head: UpstreamRequest.Head
        ) {
            self.configuration = configuration
            self.profile = profile
            self.secret = secret
            self.url = url
            self.forwarded = forwarded
            self.head = head
        }

        /// Whether this is the head of a request with `profile`'s credential `secret` for `planned`.
        func serves(profile: ProfileID, secret: String, _ planned: ProxyEngine.PlannedRequest) -> Bool {
            configuration === planned.snapshot && self.profile == profile && self.secret == secret && url == planned.url
                && UpstreamHeadCache.same(forwarded, planned.forwarded)
        }
    }

    /// The most recently made last.
    private let entries = Mutex<[Entry]>([])
    /// Heads kept; the oldest goes first.
    static let capacity = 64

    /// The head of a request with `profile`'s credential `secret` for `planned`: a kept one, or
    /// the one `make` makes (kept for the requests that follow).
    ///
    /// `connectionKept`: the head a client connection kept from its last request (nil for none, or
    /// for a caller that keeps none); used when it is the one this request needs, and replaced by
    /// the head returned. It saves the search of the heads kept for every connection.
    func head<Failure: Error>(
        profile: ProfileID, secret: String, for planned: ProxyEngine.PlannedRequest, connectionKept: inout Entry?,
        make: () throws(Failure) -> UpstreamRequest.Head
    ) throws(Failure) -> UpstreamRequest.Head {
        if let kept = connectionKept, kept.serves(profile: profile, secret: secret, planned) { return kept.head }
        let kept = entries.withLock { entries in
            entries.last { $0.serves(profile: profile, secret: secret, planned) }
        }
        if let kept {
            connectionKept = kept
            return kept.head
        }
        let made = try make()
        let entry = Entry(
            configuration: planned.snapshot, profile: profile, secret: secret, url: planned.url, forwarded: planned.forwarded, head: made)
        connectionKept = entry
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
