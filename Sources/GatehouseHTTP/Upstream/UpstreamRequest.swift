import NIOCore
import NIOHTTP1

/// A request for an upstream: the whole body is at hand (it is re-sent when a pooled connection turns
/// out to be closed, and on failover), and the whole request is encoded when it is made, in one
/// buffer with a small body.
///
/// Header names and values are sent as they are: they must be valid HTTP (no CR, LF or NUL). The
/// gateway's are its own constants, headers its server parsed from the client, and credentials it
/// checks (`UpstreamRequest.isValidHeaderValue`).
public struct UpstreamRequest: Sendable {
    /// A request's method, target and headers (with `Host`), encoded once: the requests of one
    /// credential to one provider share theirs.
    public struct Head: Sendable {
        public let url: UpstreamURL
        /// The head as the connection's response decoder sees it go by (it frames the answer by the
        /// method); its headers lack the request's `Content-Length`.
        let head: HTTPRequestHead
        /// The request line and the headers, without `Content-Length` and the empty line that ends
        /// the head.
        let encoded: ByteBuffer

        /// - Parameter headers: the request's headers; a `Host`, `Content-Length` or
        ///   `Transfer-Encoding` among them is replaced by the request's own.
        public init(method: HTTPMethod = .POST, url: UpstreamURL, headers: HTTPHeaders = [:]) {
            self.url = url
            var own: [(String, String)] = [("host", url.endpoint.hostHeader)]
            own.reserveCapacity(headers.count + 1)
            for (name, value) in headers
            where !HeaderName.matches(name, "host") && !HeaderName.matches(name, "content-length")
                && !HeaderName.matches(name, "transfer-encoding")
            {
                own.append((name, value))
            }
            let head = HTTPRequestHead(version: .http1_1, method: method, uri: url.target, headers: HTTPHeaders(own))
            var encoded = ByteBuffer()
            HTTP1Writer.write(to: &encoded) { writer in
                writer.requestLine(head)
                writer.headers(head.headers)
            }
            self.head = head
            self.encoded = encoded
        }
    }

    public let head: Head
    public var method: HTTPMethod { head.head.method }
    public var url: UpstreamURL { head.url }
    /// The body, as it was given (`wire` sends it).
    public let body: [ByteBuffer]
    /// The request as it goes out: the head with its `Content-Length` and, behind it, a body of up to
    /// `HTTP1Writer.copiedBodyLimit` bytes; a larger body follows as it was given (no copy).
    let wire: [ByteBuffer]
    /// The body's length, sent as `Content-Length` (for any body, and for a POST, PUT or PATCH).
    let contentLength: Int?

    public init(head: Head, body: [ByteBuffer] = []) {
        self.head = head
        self.body = body
        let method = head.head.method
        let length = body.reduce(0) { $0 + $1.readableBytes }
        contentLength = length > 0 || method == .POST || method == .PUT || method == .PATCH ? length : nil
        var first = ByteBuffer()
        first.reserveCapacity(head.encoded.readableBytes + 32 + (length <= HTTP1Writer.copiedBodyLimit ? length : 0))
        first.writeImmutableBuffer(head.encoded)
        HTTP1Writer.write(to: &first) { [contentLength] writer in
            if let contentLength { writer.header("content-length", contentLength) }
            writer.endOfHead()
        }
        guard length <= HTTP1Writer.copiedBodyLimit else {
            wire = [first] + body.filter { $0.readableBytes > 0 }
            return
        }
        for piece in body { first.writeImmutableBuffer(piece) }
        wire = [first]
    }

    /// - Parameter headers: the request's headers; a `Host`, `Content-Length` or `Transfer-Encoding`
    ///   among them is replaced by the request's own.
    public init(method: HTTPMethod = .POST, url: UpstreamURL, headers: HTTPHeaders = [:], body: [ByteBuffer] = []) {
        self.init(head: Head(method: method, url: url, headers: headers), body: body)
    }

    /// The headers as sent: the given ones with `Host` and, for a request with a body (or a POST, PUT
    /// or PATCH), `Content-Length`.
    public var headers: HTTPHeaders {
        var headers = head.head.headers
        if let contentLength { headers.add(name: "content-length", value: String(contentLength)) }
        return headers
    }
}

extension UpstreamRequest {
    /// Whether `value` can go in a header as it is: no control character other than tab.
    public static func isValidHeaderValue(_ value: String) -> Bool {
        !value.utf8.contains { ($0 < 0x20 && $0 != 0x09) || $0 == 0x7F }
    }
}
