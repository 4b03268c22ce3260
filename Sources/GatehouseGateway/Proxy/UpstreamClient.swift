import AsyncHTTPClient
import GatehouseCore
import NIOCore
import NIOHTTP1

/// The pooled HTTP client for providers, with the gateway's timeouts.
struct UpstreamClient: Sendable {
    struct Timeouts: Sendable {
        /// Establishing a connection.
        var connect: Duration = .seconds(10)
        /// From sending the request to the response head.
        var firstByte: Duration = .seconds(600)
        /// The longest pause between two pieces of a response body.
        var idle: Duration = .seconds(300)
    }

    let client: HTTPClient
    let timeouts: Timeouts

    static func make(timeouts: Timeouts = Timeouts()) -> UpstreamClient {
        var configuration = HTTPClient.Configuration()
        configuration.timeout = .init(connect: .milliseconds(timeouts.connect.milliseconds), read: .milliseconds(timeouts.idle.milliseconds))
        configuration.connectionPool = .init(idleTimeout: .seconds(60), concurrentHTTP1ConnectionsPerHostSoftLimit: 256)
        configuration.decompression = .disabled
        configuration.redirectConfiguration = .disallow
        return UpstreamClient(client: HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration), timeouts: timeouts)
    }

    /// Sends a request; returns once the response head is in.
    func send(url: String, headers: HTTPHeaders, body: ByteBuffer) async throws -> HTTPClientResponse {
        var request = HTTPClientRequest(url: url)
        request.method = .POST
        request.headers = headers
        request.body = .bytes(body)
        return try await client.execute(request, deadline: .now() + .milliseconds(timeouts.firstByte.milliseconds))
    }

    func shutdown() async throws {
        try await client.shutdown()
    }
}

extension HTTPClientError {
    /// The transport failure this error stands for.
    var transportFailure: TransportFailure {
        switch self {
        case .connectTimeout: .connectTimeout
        case .readTimeout, .deadlineExceeded: .readTimeout
        case .remoteConnectionClosed: .connectionReset
        default: .other
        }
    }
}
