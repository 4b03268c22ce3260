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
    /// credential to one provider share theirs. A class: the requests that share it hold it by one
    /// reference.
    public final class Head: Sendable {
        public let url: UpstreamURL
        /// The head the connection's request writer gives its response decoder (which frames the
        /// answer by the method); its headers lack the request's `Content-Length`.
        let head: HTTPRequestHead
        /// The request line and the headers, without `Content-Length` and the empty line that ends
        /// the head.
        let encoded: ByteBuffer

        /// - Parameter headers: the request's headers; a `Host`, `Content-Length` or
        ///   `Transfer-Encoding` among them is left out (the head has its own `Host`, and the
        ///   request adds its `Content-Length`).
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
    public var url: UpstreamURL { head.url }
    /// The request as it goes out: the head, the request's own headers and its `Content-Length`
    /// and, behind them, a body of up to `HTTP1Writer.copiedBodyLimit` bytes; a larger body follows
    /// as it was given (no copy).
    let wire: [ByteBuffer]

    /// - Parameters:
    ///   - headers: headers of this request alone, written after the head's (a client's
    ///     `Idempotency-Key`); the same rules as the head's.
    ///   - body: sent with a `Content-Length` (as is a POST, PUT or PATCH without one).
    public init(head: Head, headers: HTTPHeaders = [:], body: [ByteBuffer] = []) {
        self.head = head
        let method = head.head.method
        let length = body.reduce(0) { $0 + $1.readableBytes }
        let contentLength = length > 0 || method == .POST || method == .PUT || method == .PATCH ? length : nil
        let copiesBody = length <= HTTP1Writer.copiedBodyLimit
        var first = ByteBuffer()
        first.reserveCapacity(head.encoded.readableBytes + 32 + (copiesBody ? length : 0))
        first.writeImmutableBuffer(head.encoded)
        HTTP1Writer.write(to: &first, reservingAfter: copiesBody ? length : 0) { writer in
            writer.headers(headers)
            if let contentLength { writer.header("content-length", contentLength) }
            writer.endOfHead()
        }
        guard copiesBody else {
            wire = [first] + body.filter { $0.readableBytes > 0 }
            return
        }
        for piece in body { first.writeImmutableBuffer(piece) }
        wire = [first]
    }

    /// - Parameter headers: the request's headers; a `Host`, `Content-Length` or `Transfer-Encoding`
    ///   among them is left out (the request sends its own `Host` and `Content-Length`).
    public init(method: HTTPMethod = .POST, url: UpstreamURL, headers: HTTPHeaders = [:], body: [ByteBuffer] = []) {
        self.init(head: Head(method: method, url: url, headers: headers), body: body)
    }
}

extension UpstreamRequest {
    /// Whether `value` can go in a header as it is: no control character other than tab.
    public static func isValidHeaderValue(_ value: String) -> Bool {
        !value.utf8.contains { ($0 < 0x20 && $0 != 0x09) || $0 == 0x7F }
    }
}
