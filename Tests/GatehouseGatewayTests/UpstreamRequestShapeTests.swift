import GatehouseCore
import GatehouseHTTP
import NIOCore
import Testing

@testable import GatehouseGateway

/// What the gateway makes of a client's request for the upstream: which headers go, and the body
/// with the provider's own model id.
@Suite("Upstream request shape")
struct UpstreamRequestShapeTests {
    @Test("Header names match in any letter case, and only whole names or prefixes")
    func headerNames() {
        #expect(HeaderName.matches("authorization", "authorization"))
        #expect(HeaderName.matches("Authorization", "authorization"))
        #expect(HeaderName.matches("AUTHORIZATION", "authorization"))
        #expect(!HeaderName.matches("authorizations", "authorization"))
        #expect(!HeaderName.matches("authorizatio", "authorization"))
        #expect(!HeaderName.matches("x-api-kez", "x-api-key"))
        // Only letters fold: a byte that folds onto '-' is not a '-'.
        #expect(!HeaderName.matches("x\rapi-key", "x-api-key"))
        #expect(HeaderName.hasPrefix("X-RateLimit-Remaining-Requests", "x-ratelimit-"))
        #expect(!HeaderName.hasPrefix("x-ratelimit", "x-ratelimit-"))
        #expect(HeaderName.lowercased("OpenAI-Organization") == "openai-organization")
        #expect(HeaderName.lowercased("accept") == "accept")
    }

    @Test("Forwarded headers are the allowlisted ones, in any letter case")
    func forwardedHeaders() {
        for name in ["anthropic-version", "Anthropic-Beta", "OpenAI-Organization", "openai-project", "Accept", "Idempotency-Key"] {
            #expect(ProxyEngine.isForwardedRequestHeader(name), "\(name)")
        }
        for name in ["authorization", "X-Api-Key", "cookie", "x-gatehouse-agent", "host", "content-length", "accept-encoding"] {
            #expect(!ProxyEngine.isForwardedRequestHeader(name), "\(name)")
        }
        for name in ["Content-Type", "retry-after", "x-request-id", "anthropic-ratelimit-requests-remaining", "X-RateLimit-Limit-Tokens"] {
            #expect(ProxyEngine.isForwardedResponseHeader(name), "\(name)")
        }
        for name in ["set-cookie", "content-length", "server", "x-ratelimit"] {
            #expect(!ProxyEngine.isForwardedResponseHeader(name), "\(name)")
        }
    }

    @Test("The model id replaces the client's, escaped where JSON needs it, in small and large bodies")
    func modelReplaced() throws {
        let small = #"{"model":"openai/gpt-4o-mini","messages":[]}"#
        let large =
            #"{"model":"openai/gpt-4o-mini","messages":[{"role":"user","content":""# + String(repeating: "x", count: 20_000) + #""}]}"#
        for text in [small, large] {
            let body = ByteBuffer(string: text)
            let scan = try body.withUnsafeReadableBytes { try RequestBodyScan.scan($0) }
            for model in ["gpt-4o-mini", #"we"ird\model"#, "line\nbreak"] {
                let pieces = ProxyEngine.upstreamBody(body, replacing: scan.modelRange, with: ProxyEngine.encodedModelID(model))
                #expect(pieces.count == 3)
                var joined = ByteBuffer()
                for var piece in pieces { joined.writeBuffer(&piece) }
                let value = try JSONValue.parse(Array(joined.readableBytesView))
                #expect(value["model"] == .string(model))
                #expect(value["messages"] == (try JSONValue.parse(Array(text.utf8)))["messages"])
            }
        }
    }
}
