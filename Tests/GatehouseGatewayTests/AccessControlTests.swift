import NIOHTTP1
import Testing

@testable import GatehouseGateway

@Suite("gateway: the operator token")
struct AccessControlTests {
    static let token = "gh_0123456789abcdef0123456789abcdef"
    let access = AccessControl(token: Array(Self.token.utf8))

    /// The error `check` throws, or nil when it passes.
    func refusal(authorization: String? = nil, apiKey: String? = nil) -> WireError? {
        do {
            try access.check(authorization: authorization, apiKey: apiKey)
            return nil
        } catch {
            return error as? WireError
        }
    }

    @Test("Bearer in any letter case and x-api-key pass with the token")
    func tokenPasses() {
        for scheme in ["Bearer", "bearer", "BEARER", "bEaReR"] {
            #expect(refusal(authorization: "\(scheme) \(Self.token)") == nil, "\(scheme)")
        }
        #expect(refusal(apiKey: Self.token) == nil)
        // A wrong Authorization scheme does not hide a good x-api-key.
        #expect(refusal(authorization: "Basic abc", apiKey: Self.token) == nil)
    }

    @Test("Another scheme, no space, a longer or shorter token, or nothing at all is refused with a 401 that says what to send")
    func othersAreRefused() {
        let wrong: [(authorization: String?, apiKey: String?, message: String)] = [
            ("Basic \(Self.token)", nil, "missing credentials"),
            ("Bearer\(Self.token)", nil, "missing credentials"),
            ("Bearer:\(Self.token)", nil, "missing credentials"),
            ("Bearer  \(Self.token)", nil, "invalid gateway token"),
            ("Bearer \(Self.token)x", nil, "invalid gateway token"),
            ("Bearer \(Self.token.dropLast())", nil, "invalid gateway token"),
            (nil, Self.token.uppercased(), "invalid gateway token"),
            (nil, nil, "missing credentials"),
        ]
        for (authorization, apiKey, message) in wrong {
            let error = refusal(authorization: authorization, apiKey: apiKey)
            #expect(error?.status == .unauthorized, "\(String(describing: authorization)) \(String(describing: apiKey))")
            #expect(error?.message.contains(message) == true, "\(String(describing: authorization)): \(String(describing: error?.message))")
        }
    }

    @Test("A token that differs from the gateway's in any one byte, in the part compared eight bytes at a time or in the rest, is refused")
    func everyByteCounts() {
        let bytes = Array(Self.token.utf8)
        for index in bytes.indices {
            var changed = bytes
            changed[index] ^= 0x01
            let text = String(decoding: changed, as: UTF8.self)
            #expect(refusal(apiKey: text)?.message.contains("invalid gateway token") == true, "byte \(index)")
            #expect(refusal(authorization: "Bearer " + text)?.message.contains("invalid gateway token") == true, "byte \(index)")
        }
        // Lengths alone differ: the token with a byte more or less, whatever the bytes compared.
        for other in [bytes + [0], Array(bytes.dropLast()), [], bytes + bytes] {
            #expect(!other.withUnsafeBufferPointer { AccessControl.constantTimeEqual($0, bytes) }, "\(other.count) bytes")
        }
        #expect(bytes.withUnsafeBufferPointer { AccessControl.constantTimeEqual($0, bytes) })
    }
}
