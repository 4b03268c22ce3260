import GatehouseCore

/// Why an upstream request failed, in terms a person can act on, and which endpoint it was for.
public struct UpstreamError: Error, Sendable, CustomStringConvertible {
    fileprivate enum Code: Sendable, Hashable {
        case invalidURL, connectTimeout, connectFailed, tls, readTimeout, connectionClosed, invalidResponse, shutdown, readerStalled
    }

    /// What kind of failure this is; compare with the static members (`error.code == .readTimeout`).
    public struct Kind: Sendable, Hashable {
        fileprivate let code: Code
        /// The URL is not an absolute http(s) URL.
        public static let invalidURL = Kind(code: .invalidURL)
        /// No connection within the connect timeout.
        public static let connectTimeout = Kind(code: .connectTimeout)
        /// The connection was refused, or the host could not be resolved or reached.
        public static let connectFailed = Kind(code: .connectFailed)
        /// The TLS handshake or a TLS record failed.
        public static let tls = Kind(code: .tls)
        /// No response head within the first-byte timeout, or a pause between two pieces of the body
        /// longer than the idle timeout.
        public static let readTimeout = Kind(code: .readTimeout)
        /// The upstream closed the connection before the response was complete.
        public static let connectionClosed = Kind(code: .connectionClosed)
        /// The upstream sent something that is not HTTP/1.1.
        public static let invalidResponse = Kind(code: .invalidResponse)
        /// The client was shut down.
        public static let shutdown = Kind(code: .shutdown)
        /// Whoever reads the answer took none of it for longer than the idle timeout (a client of
        /// the gateway that stopped reading): the connection is given up, the upstream is not at fault.
        public static let readerStalled = Kind(code: .readerStalled)
    }

    public let code: Kind
    public let message: String
    /// Whether any byte of a response had arrived when the request failed.
    public internal(set) var receivedResponse = false
    /// Whether the upstream cannot have acted on the request (a pooled connection that was already
    /// closed, or closed as the request went out); only then is it sent again on a new connection.
    public internal(set) var neverSent = false

    init(_ code: Kind, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { message }

    /// The transport failure this error stands for, for failure classification.
    public var transportFailure: TransportFailure {
        switch code.code {
        case .connectTimeout: .connectTimeout
        case .readTimeout: .readTimeout
        case .connectFailed: .connectionRefused
        case .connectionClosed: receivedResponse ? .streamCut : .connectionReset
        case .invalidURL, .tls, .invalidResponse, .shutdown, .readerStalled: .other
        }
    }
}
