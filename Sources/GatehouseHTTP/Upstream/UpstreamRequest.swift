import NIOCore
import NIOHTTP1

/// A request for an upstream: the whole body is at hand (it is re-sent when a pooled connection turns
/// out to be closed, and on failover).
///
/// Header names and values are sent as they are: they must be valid HTTP (no CR, LF or NUL). The
/// gateway's are its own constants, headers its server parsed from the client, and credentials it
/// checks (`UpstreamRequest.isValidHeaderValue`).
public struct UpstreamRequest: Sendable {
    public var method: HTTPMethod
    public var url: UpstreamURL
    /// Headers to send; `Host` and `Content-Length` are added.
    public var headers: HTTPHeaders
    /// The body, sent as one or more pieces with `Content-Length` (no copy is made).
    public var body: [ByteBuffer]

    public init(method: HTTPMethod = .POST, url: UpstreamURL, headers: HTTPHeaders = [:], body: [ByteBuffer] = []) {
        self.method = method
        self.url = url
        self.headers = headers
        self.body = body
    }

    var head: HTTPRequestHead {
        var headers = self.headers
        headers.replaceOrAdd(name: "host", value: url.endpoint.hostHeader)
        if !body.isEmpty || method == .POST || method == .PUT || method == .PATCH {
            headers.replaceOrAdd(name: "content-length", value: String(body.reduce(0) { $0 + $1.readableBytes }))
        }
        return HTTPRequestHead(version: .http1_1, method: method, uri: url.target, headers: headers)
    }
}

extension UpstreamRequest {
    /// Whether `value` can go in a header as it is: no control character other than tab.
    public static func isValidHeaderValue(_ value: String) -> Bool {
        !value.utf8.contains { ($0 < 0x20 && $0 != 0x09) || $0 == 0x7F }
    }
}
