import GatehouseCore
import GatehouseHTTP
import GatehouseStore
import NIOHTTP1

/// Who may use the gateway: clients presenting the operator token, as `Authorization: Bearer <token>`
/// or `x-api-key: <token>` (what the Anthropic SDK sends).
struct AccessControl: Sendable {
    let token: [UInt8]

    /// Reads `gateway-token`, creating it (0600, 32 random bytes) on first start. Returns whether it
    /// was created.
    static func load(_ home: GatehouseHome) throws -> (AccessControl, created: Bool) {
        let path = home.gatewayTokenPath
        if let bytes = try FileIO.read(path) {
            let token = String(decoding: bytes, as: UTF8.self).filter { !$0.isWhitespace }
            guard token.count >= 16 else {
                throw StoreError(
                    code: .invalidContent, path: path,
                    message: "\(path) holds no usable token (at least 16 characters); delete it to have a new one made")
            }
            return (AccessControl(token: Array(token.utf8)), false)
        }
        var rng = SystemRandomNumberGenerator()
        let token = "gh_" + Fingerprint.hex((0..<32).map { _ in UInt8.random(in: 0...255, using: &rng) })
        try AtomicFile.write(Array((token + "\n").utf8), to: path)
        return (AccessControl(token: Array(token.utf8)), true)
    }

    /// Passes when the request's `Authorization` or `x-api-key` header carries the token.
    func check(authorization: String?, apiKey: String?) throws {
        // nil while no token was presented; the bytes are compared where they are.
        var matched: Bool?
        if var authorization {
            matched = authorization.withUTF8 { bytes in
                guard bytes.count > 7, Self.isBearerPrefix(bytes) else { return nil }
                return Self.constantTimeEqual(UnsafeBufferPointer(rebasing: bytes[7...]), token)
            }
        }
        if matched == nil, var apiKey { matched = apiKey.withUTF8 { Self.constantTimeEqual($0, token) } }
        guard let matched else {
            throw WireError(
                status: .unauthorized, kind: .authentication,
                message:
                    "missing credentials: send the gateway token as `Authorization: Bearer <token>` or `x-api-key: <token>` (it is in GATEHOUSE_HOME/gateway-token)"
            )
        }
        guard matched else {
            throw WireError(status: .unauthorized, kind: .authentication, message: "invalid gateway token")
        }
    }

    /// Whether two byte strings are equal, in a time that depends only on their lengths: every byte
    /// of both is looked at, eight at a time where both have them.
    static func constantTimeEqual(_ a: UnsafeBufferPointer<UInt8>, _ b: [UInt8]) -> Bool {
        b.withUnsafeBytes { b in
            let a = UnsafeRawBufferPointer(a)
            var difference: UInt64 = a.count == b.count ? 0 : 1
            let common = min(a.count, b.count)
            var index = 0
            while index + 8 <= common {
                difference |=
                    a.loadUnaligned(fromByteOffset: index, as: UInt64.self) ^ b.loadUnaligned(fromByteOffset: index, as: UInt64.self)
                index += 8
            }
            while index < common {
                difference |= UInt64(a[index] ^ b[index])
                index += 1
            }
            // The rest of the longer one (the lengths differ: the result is false already).
            for offset in index..<a.count { difference |= UInt64(a[offset]) }
            for offset in index..<b.count { difference |= UInt64(b[offset]) }
            return difference == 0
        }
    }

    /// Whether `bytes` begin with `Bearer ` (any letter case).
    private static func isBearerPrefix(_ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        HeaderName.startsWith(bytes, "bearer ")
    }
}
