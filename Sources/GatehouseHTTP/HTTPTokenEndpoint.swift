import AsyncHTTPClient
import GatehouseCore
import GatehouseStore
import NIOCore
import NIOHTTP1

/// Talks to OAuth token and device-authorization endpoints over HTTP.
public struct HTTPTokenEndpoint: TokenEndpoint {
    let client: HTTPClient
    /// Bounds each call, head and body.
    public var timeout: Duration

    public init(client: HTTPClient = .shared, timeout: Duration = .seconds(30)) {
        self.client = client
        self.timeout = timeout
    }

    public func refresh(_ grant: RefreshGrant) async throws -> TokenEndpointResult {
        var parameters = grant.parameters
        if !grant.scopes.isEmpty && grant.encoding == .json { parameters.append(("scope", grant.scopes.joined(separator: " "))) }
        return try await post(grant.tokenURL, encoding: grant.encoding, parameters: parameters)
    }

    /// Exchanges an authorization code (with its PKCE verifier) for tokens.
    public func exchange(
        code: String, verifier: String, redirectURI: String, definition: OAuthDefinition, state: String? = nil
    ) async throws -> TokenEndpointResult {
        var parameters = [
            ("grant_type", "authorization_code"), ("code", code), ("redirect_uri", redirectURI),
            ("client_id", definition.clientID), ("code_verifier", verifier),
        ]
        if let state { parameters.append(("state", state)) }
        return try await post(definition.tokenURL, encoding: definition.encoding, parameters: parameters)
    }

    /// Polls the token endpoint once for a device code.
    public func pollDevice(code: String, definition: OAuthDefinition) async throws -> TokenEndpointResult {
        try await post(
            definition.tokenURL, encoding: definition.encoding,
            parameters: [("grant_type", "urn:ietf:params:oauth:grant-type:device_code"), ("device_code", code), ("client_id", definition.clientID)])
    }

    /// Starts a device authorization (RFC 8628).
    public func startDeviceAuthorization(definition: OAuthDefinition) async throws -> DeviceAuthorization {
        guard let url = definition.deviceAuthorizationURL else {
            throw TokenEndpointError(status: 0, code: nil, description: "the provider has no device authorization endpoint")
        }
        var parameters = [("client_id", definition.clientID)]
        if !definition.scopes.isEmpty { parameters.append(("scope", definition.scopes.joined(separator: " "))) }
        let (status, body) = try await send(url, encoding: definition.encoding, parameters: parameters)
        guard (200..<300).contains(status), let json = try? JSONValue.parse(body),
            let deviceCode = json["device_code"]?.stringValue, let userCode = json["user_code"]?.stringValue,
            let uri = json["verification_uri"]?.stringValue ?? json["verification_url"]?.stringValue
        else {
            if case .failure(let error) = TokenResponse.parse(status: status, body: body, now: 0) { throw error }
            throw TokenEndpointError(status: status, code: nil, description: "unexpected answer from \(url)")
        }
        return DeviceAuthorization(
            deviceCode: deviceCode, userCode: userCode, verificationURI: uri,
            verificationURIComplete: json["verification_uri_complete"]?.stringValue,
            interval: json["interval"]?.intValue ?? 5, expiresIn: json["expires_in"]?.intValue ?? 600)
    }

    private func post(_ url: String, encoding: OAuthDefinition.Encoding, parameters: [(String, String)]) async throws -> TokenEndpointResult {
        let (status, body) = try await send(url, encoding: encoding, parameters: parameters)
        return TokenResponse.parse(status: status, body: body, now: WallClock.nowMillis())
    }

    private func send(_ url: String, encoding: OAuthDefinition.Encoding, parameters: [(String, String)]) async throws -> (Int, [UInt8]) {
        var request = HTTPClientRequest(url: url)
        request.method = .POST
        request.headers.add(name: "accept", value: "application/json")
        request.headers.add(name: "user-agent", value: "gatehouse")
        let body: [UInt8]
        switch encoding {
        case .form:
            request.headers.add(name: "content-type", value: "application/x-www-form-urlencoded")
            body = Array(FormEncoding.encode(parameters).utf8)
        case .json:
            request.headers.add(name: "content-type", value: "application/json")
            body = JSONValue.object(Dictionary(parameters.map { ($0.0, JSONValue.string($0.1)) }, uniquingKeysWith: { _, b in b })).serialized(pretty: false)
        }
        request.body = .bytes(ByteBuffer(bytes: body))
        let deadline = NIODeadline.now() + .milliseconds(timeout.milliseconds)
        let response = try await client.execute(request, deadline: deadline)
        let collected = try await withTimeout(timeout) { try await response.body.collect(upTo: 1 << 20) }
        return (Int(response.status.code), Array(collected.readableBytesView))
    }
}

/// What a device authorization endpoint answered.
public struct DeviceAuthorization: Sendable, Hashable {
    public var deviceCode: String
    public var userCode: String
    public var verificationURI: String
    public var verificationURIComplete: String?
    /// Seconds between polls.
    public var interval: Int64
    public var expiresIn: Int64
}
