/// Where an upstream request goes: scheme, host, port and the request target, parsed once from a URL
/// such as `https://api.openai.com/v1/chat/completions`.
public struct UpstreamURL: Sendable, Hashable, CustomStringConvertible {
    /// The connection a request needs: requests with the same endpoint share pooled connections.
    public struct Endpoint: Sendable, Hashable, CustomStringConvertible {
        public let isTLS: Bool
        /// The host name or address (an IPv6 address without its brackets).
        public let host: String
        public let port: Int
        /// The `Host` header: the port only when it is not the scheme's default (made once: every
        /// request sends it).
        public let hostHeader: String

        public init(isTLS: Bool, host: String, port: Int) {
            self.isTLS = isTLS
            self.host = host
            self.port = port
            let name = host.utf8.contains(UInt8(ascii: ":")) ? "[\(host)]" : host
            self.hostHeader = port == (isTLS ? 443 : 80) ? name : "\(name):\(port)"
        }

        public static func == (lhs: Endpoint, rhs: Endpoint) -> Bool {
            lhs.isTLS == rhs.isTLS && lhs.port == rhs.port && lhs.host == rhs.host
        }

        public func hash(into hasher: inout Hasher) {
            hasher.combine(isTLS)
            hasher.combine(host)
            hasher.combine(port)
        }

        public var description: String { "\(isTLS ? "https" : "http")://\(hostHeader)" }
    }

    public var endpoint: Endpoint
    /// The path and query, starting with `/`.
    public var target: String

    public init(endpoint: Endpoint, target: String) {
        self.endpoint = endpoint
        self.target = target
    }

    /// Parses an absolute `http` or `https` URL.
    /// - Throws: `UpstreamError` with code `invalidURL` naming what is wrong.
    public init(_ string: String) throws(UpstreamError) {
        // The host and path go into the request's head as they are: no control characters or spaces.
        guard !string.utf8.contains(where: { $0 <= 0x20 || $0 == 0x7F }) else {
            throw UpstreamError(.invalidURL, "\(string.debugDescription): a URL cannot hold spaces or control characters")
        }
        let isTLS: Bool
        let rest: Substring
        if let colon = string.firstIndex(of: ":"), string[colon...].hasPrefix("://") {
            switch string[..<colon].lowercased() {
            case "http": isTLS = false
            case "https": isTLS = true
            default: throw UpstreamError(.invalidURL, "\(string): only http and https URLs are supported")
            }
            rest = string[string.index(colon, offsetBy: 3)...]
        } else {
            throw UpstreamError(.invalidURL, "\(string) is not an absolute URL (http://host/path)")
        }
        let authorityEnd = rest.firstIndex { $0 == "/" || $0 == "?" || $0 == "#" } ?? rest.endIndex
        let authority = rest[..<authorityEnd]
        var target = String(rest[authorityEnd...])
        if let hash = target.firstIndex(of: "#") { target = String(target[..<hash]) }
        if target.isEmpty || target.first == "?" { target = "/" + target }
        guard !authority.isEmpty, !authority.contains("@") else {
            throw UpstreamError(.invalidURL, "\(string): the URL needs a host (and no user name or password)")
        }
        let host: Substring
        var port = isTLS ? 443 : 80
        if authority.first == "[" {
            guard let close = authority.firstIndex(of: "]") else { throw UpstreamError(.invalidURL, "\(string): unclosed [ in the host") }
            host = authority[authority.index(after: authority.startIndex)..<close]
            let after = authority[authority.index(after: close)...]
            if !after.isEmpty {
                guard after.first == ":", let value = Int(after.dropFirst()) else {
                    throw UpstreamError(.invalidURL, "\(string): bad port")
                }
                port = value
            }
        } else if let colon = authority.lastIndex(of: ":") {
            host = authority[..<colon]
            guard let value = Int(authority[authority.index(after: colon)...]) else {
                throw UpstreamError(.invalidURL, "\(string): bad port")
            }
            port = value
        } else {
            host = authority
        }
        guard !host.isEmpty, (1...65535).contains(port) else { throw UpstreamError(.invalidURL, "\(string): bad host or port") }
        self.endpoint = Endpoint(isTLS: isTLS, host: String(host), port: port)
        self.target = target
    }

    public var description: String { endpoint.description + target }
}
