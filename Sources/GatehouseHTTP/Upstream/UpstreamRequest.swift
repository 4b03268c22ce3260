import NIOCore
import NIOHTTP1

/// A request for an upstream: the whole body is at hand (it is re-sent when a pooled connection turns
/// out to be closed, and on failover).
///
/// Header names and values are sent as they are: they must be valid HTTP (no CR, LF or NUL). The
/// gateway's are its own constants, headers its server parsed from the client, and credentials it
/// checks (`UpstreamRequest.isValidHeaderValue`).
public struct UpstreamRequest: Sendable {
    public let method: HTTPMethod
    public let url: UpstreamURL
    /// The headers as sent: the given ones with `Host` and, for a request with a body (or a POST, PUT
    /// or PATCH), `Content-Length`.
    public var headers: HTTPHeaders { head.headers }
    /// The body, sent as one or more pieces with `Content-Length` (no copy is made).
    public let body: [ByteBuffer]
    /// The request's head, made once: a retry on a new connection sends the same. The connection's
    /// encoder sends it as it is (it adds no framing headers of its own).
    let head: HTTPRequestHead

    /// - Parameter headers: the request's headers; room for two more (`Host`, `Content-Length`)
    ///   saves a copy.
    public init(method: HTTPMethod = .POST, url: UpstreamURL, headers: HTTPHeaders = [:], body: [ByteBuffer] = []) {
        self.method = method
        self.url = url
        self.body = body
        var headers = headers
        let length = !body.isEmpty || method == .POST || method == .PUT || method == .PATCH ? body.reduce(0) { $0 + $1.readableBytes } : nil
        if headers.contains(name: "host") || headers.contains(name: "content-length") || headers.contains(name: "transfer-encoding") {
            headers.remove(name: "transfer-encoding")
            headers.replaceOrAdd(name: "host", value: url.endpoint.hostHeader)
            if let length {
                headers.replaceOrAdd(name: "content-length", value: String(length))
            } else {
                headers.remove(name: "content-length")
            }
        } else {
            headers.reserveCapacity(headers.count + 2)
            headers.add(name: "host", value: url.endpoint.hostHeader)
            if let length { headers.add(name: "content-length", value: String(length)) }
        }
        self.head = HTTPRequestHead(version: .http1_1, method: method, uri: url.target, headers: headers)
    }
}

extension UpstreamRequest {
    /// Whether `value` can go in a header as it is: no control character other than tab.
    public static func isValidHeaderValue(_ value: String) -> Bool {
        !value.utf8.contains { ($0 < 0x20 && $0 != 0x09) || $0 == 0x7F }
    }
}
