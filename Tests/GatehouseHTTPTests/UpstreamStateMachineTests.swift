import NIOCore
import NIOHTTP1
import Testing

@testable import GatehouseHTTP

/// The upstream client's two state machines on their own: one answer as it arrives, and the pool.
@Suite struct UpstreamStateMachineTests {
    static let head = HTTPResponseHead(version: .http1_1, status: .ok, headers: ["content-type": "application/json"])

    static func text(_ next: UpstreamExchangeStateMachine.Next) -> String? {
        if case .piece(let piece, _) = next { return String(buffer: piece) }
        return nil
    }

    @Test("Pieces that arrive before the reader are kept in order; the end follows them")
    func bufferedInOrder() {
        var machine = UpstreamExchangeStateMachine()
        guard case .none = machine.receivedHead(Self.head) else { Issue.record("no waiter to resume"); return }
        _ = machine.receivedBody(ByteBuffer(string: "a"))
        _ = machine.receivedBody(ByteBuffer(string: "b"))
        _ = machine.receivedEnd()
        // The reader takes the head without waiting (a continuation is never touched here).
        guard case .headReady = machine.state else { Issue.record("head not ready: \(machine.state)"); return }
        #expect(machine.takeCompleteBody() == nil, "the head was not taken yet")
        machine.takeHeadForTesting()
        #expect(machine.takeCompleteBody().map { $0.map { String(buffer: $0) } } == .some("ab"))
        #expect({ if case .end = machine.next() { true } else { false } }())
    }

    @Test("A failure after the head gives the reader the pieces that came, then the error; cancelling then closes nothing more")
    func failureAfterHead() {
        var machine = UpstreamExchangeStateMachine()
        _ = machine.receivedHead(Self.head)
        _ = machine.receivedBody(ByteBuffer(string: "a"))
        let failed = machine.failed(UpstreamError(.connectionClosed, "cut"))
        if case .fail = failed.head { Issue.record("the head was already in") }
        // Take the head by hand (no continuation): move to streaming as waitForHead would.
        machine.takeHeadForTesting()
        #expect(Self.text(machine.next()) == "a")
        guard case .fail(let error) = machine.next() else { Issue.record("expected the failure"); return }
        #expect((error as? UpstreamError)?.code == .connectionClosed)
        #expect(!machine.cancel().close, "a failed connection is closed already")
    }

    @Test("Cancelling an unfinished answer closes its connection; a complete one is left to the pool")
    func cancelCloses() {
        var unfinished = UpstreamExchangeStateMachine()
        _ = unfinished.receivedHead(Self.head)
        unfinished.takeHeadForTesting()
        _ = unfinished.receivedBody(ByteBuffer(string: "a"))
        #expect(unfinished.cancel().close)
        guard case .fail(let error) = unfinished.next() else { Issue.record("a cancelled body must fail"); return }
        #expect(error is CancellationError)

        var complete = UpstreamExchangeStateMachine()
        _ = complete.receivedHead(Self.head)
        complete.takeHeadForTesting()
        _ = complete.receivedBody(ByteBuffer(string: "a"))
        _ = complete.receivedEnd()
        #expect(!complete.cancel().close)

        var waiting = UpstreamExchangeStateMachine()
        #expect(waiting.cancel().close, "cancelled before the head: the answer may still come, so the connection goes")
    }

    @Test("Reads are held back above the watermark and resume once the reader drained the buffer")
    func backpressure() {
        var machine = UpstreamExchangeStateMachine(highWatermark: 4)
        _ = machine.receivedHead(Self.head)
        machine.takeHeadForTesting()
        let emptyHolds = machine.shouldHoldRead()
        #expect(!emptyHolds)
        _ = machine.receivedBody(ByteBuffer(string: "abc"))
        let belowHolds = machine.shouldHoldRead()
        #expect(!belowHolds)
        _ = machine.receivedBody(ByteBuffer(string: "def"))
        let aboveHolds = machine.shouldHoldRead()
        #expect(aboveHolds)
        guard case .piece(let both, let readOn) = machine.next() else { Issue.record("expected a piece"); return }
        #expect(String(buffer: both) == "abcdef", "what is buffered comes as one piece, in order")
        #expect(readOn, "drained: read on")
        #expect({ if case .wait = machine.next() { true } else { false } }())
    }

    @Test("The next piece is at hand when one is buffered, or the end or a failure came; not while the reader must wait")
    func nextAtHand() {
        var machine = UpstreamExchangeStateMachine()
        _ = machine.receivedHead(Self.head)
        #expect(!machine.nextIsAtHand(), "the head was not taken yet")
        machine.takeHeadForTesting()
        #expect(!machine.nextIsAtHand(), "nothing came yet")
        _ = machine.receivedBody(ByteBuffer(string: "data: 1\n\n"))
        #expect(machine.nextIsAtHand())
        _ = machine.next()
        #expect(!machine.nextIsAtHand(), "the piece was taken, the end has not come")
        _ = machine.receivedEnd()
        #expect(machine.nextIsAtHand(), "the end is at hand")
        _ = machine.next()
        #expect(machine.nextIsAtHand(), "after the end, next() answers at once")

        var failing = UpstreamExchangeStateMachine()
        _ = failing.receivedHead(Self.head)
        failing.takeHeadForTesting()
        _ = failing.failed(UpstreamError(.connectionClosed, "cut"))
        #expect(failing.nextIsAtHand(), "a failure is at hand")
    }

    @Test("Buffered pieces come joined; the end and a failure stay for next()")
    func bufferedPiecesJoin() {
        var machine = UpstreamExchangeStateMachine()
        _ = machine.receivedHead(Self.head)
        machine.takeHeadForTesting()
        #expect(machine.nextBuffered() == nil, "nothing buffered")
        _ = machine.receivedBody(ByteBuffer(string: "data: 1\n\n"))
        _ = machine.receivedBody(ByteBuffer(string: "data: 2\n\n"))
        _ = machine.receivedEnd()
        let joined = machine.nextBuffered()
        #expect(joined.map { String(buffer: $0.piece) } == "data: 1\n\ndata: 2\n\n")
        #expect(machine.nextBuffered() == nil)
        #expect({ if case .end = machine.next() { true } else { false } }(), "the end was not taken with the pieces")

        var failing = UpstreamExchangeStateMachine()
        _ = failing.receivedHead(Self.head)
        failing.takeHeadForTesting()
        _ = failing.receivedBody(ByteBuffer(string: "partial"))
        _ = failing.failed(CancellationError())
        #expect(failing.nextBuffered().map { String(buffer: $0.piece) } == "partial")
        #expect({ if case .fail = failing.next() { true } else { false } }(), "the failure was not taken with the pieces")
    }

    @Test("The pool lends the caller's event loop's connection first, then the most recent one, and closes beyond its idle limit")
    func pool() {
        let endpoint = UpstreamURL.Endpoint(isTLS: false, host: "127.0.0.1", port: 9)
        let other = UpstreamURL.Endpoint(isTLS: true, host: "example.com", port: 443)
        let tokenA = LoopToken()
        let tokenB = LoopToken()
        let loopA = ObjectIdentifier(tokenA)
        let loopB = ObjectIdentifier(tokenB)
        var pool = UpstreamPoolStateMachine<String>(maximumIdlePerEndpoint: 2)
        #expect({ if case .connect = pool.lease(endpoint, loop: loopA) { true } else { false } }())
        #expect(pool.park("a1", id: 1, endpoint: endpoint, loop: loopA) == .parked)
        #expect(pool.park("b1", id: 2, endpoint: endpoint, loop: loopB) == .parked)
        #expect(pool.park("b2", id: 3, endpoint: endpoint, loop: loopB) == .close, "over the idle limit")
        #expect({ if case .connect = pool.lease(other, loop: loopA) { true } else { false } }(), "another endpoint has its own connections")
        #expect({ if case .use("a1", openOnCallersLoop: false) = pool.lease(endpoint, loop: loopA) { true } else { false } }())
        #expect(
            { if case .use("b1", openOnCallersLoop: true) = pool.lease(endpoint, loop: loopA) { true } else { false } }(),
            "another loop's connection beats a new one, and one is opened on the caller's loop for later")
        pool.opened(endpoint, loop: loopA)
        #expect(pool.park("a1", id: 1, endpoint: endpoint, loop: loopA) == .parked)
        let removed = pool.remove(id: 1, endpoint: endpoint)
        #expect(removed)
        let removedTwice = pool.remove(id: 1, endpoint: endpoint)
        #expect(!removedTwice, "removed twice")
        #expect(pool.park("a1", id: 1, endpoint: endpoint, loop: loopA) == .parked)
        #expect(pool.shutDown() == ["a1"])
        #expect({ if case .shutDown = pool.lease(endpoint, loop: loopA) { true } else { false } }())
        #expect(pool.park("b1", id: 2, endpoint: endpoint, loop: loopB) == .close)
        withExtendedLifetime((tokenA, tokenB)) {}
    }

    @Test("A loop that borrows gets one connection opened on it at a time, within the idle limit")
    func openOnBorrowingLoop() {
        let endpoint = UpstreamURL.Endpoint(isTLS: false, host: "127.0.0.1", port: 9)
        let tokens = (LoopToken(), LoopToken(), LoopToken())
        let (loopA, loopB, loopC) = (ObjectIdentifier(tokens.0), ObjectIdentifier(tokens.1), ObjectIdentifier(tokens.2))
        var pool = UpstreamPoolStateMachine<String>(maximumIdlePerEndpoint: 4)
        func lease(_ loop: ObjectIdentifier) -> (String, Bool)? {
            if case .use(let connection, let open) = pool.lease(endpoint, loop: loop) { return (connection, open) }
            return nil
        }
        for (id, name) in ["a1", "a2", "a3"].enumerated() {
            #expect(pool.park(name, id: id + 1, endpoint: endpoint, loop: loopA) == .parked)
        }
        #expect(lease(loopB).map { $0.1 } == true, "the first borrow of B opens one on B")
        #expect(lease(loopB).map { $0.1 } == false, "one is being opened on B already")
        #expect(lease(loopC).map { $0.1 } == true, "C is another loop")
        #expect(pool.lease(endpoint, loop: nil).isConnect, "none idle")
        pool.opened(endpoint, loop: loopB)
        for (id, name) in ["a1", "a2", "a3"].enumerated() {
            #expect(pool.park(name, id: id + 1, endpoint: endpoint, loop: loopA) == .parked)
        }
        #expect(
            lease(loopB).map { $0.1 } == false,
            "three idle (the borrowed one comes back) and one being opened on C fill the idle limit of 4")
        pool.opened(endpoint, loop: loopC)
        #expect(pool.park("b1", id: 4, endpoint: endpoint, loop: loopB) == .parked)
        #expect(lease(loopB).map(\.0) == "b1", "B's own connection first")
        #expect(
            { if case .use(_, openOnCallersLoop: false) = pool.lease(endpoint, loop: nil) { true } else { false } }(),
            "a caller with no loop opens none")
        withExtendedLifetime(tokens) {}
    }

    @Test("URLs: scheme, host, port and target; the Host header names a port only when it is not the default")
    func urls() throws {
        let plain = try UpstreamURL("http://127.0.0.1:9100/v1/chat/completions")
        #expect(plain.endpoint == .init(isTLS: false, host: "127.0.0.1", port: 9100))
        #expect(plain.target == "/v1/chat/completions")
        #expect(plain.endpoint.hostHeader == "127.0.0.1:9100")
        let tls = try UpstreamURL("HTTPS://api.example.com")
        #expect(tls.endpoint == .init(isTLS: true, host: "api.example.com", port: 443))
        #expect(tls.target == "/")
        #expect(tls.endpoint.hostHeader == "api.example.com")
        let v6 = try UpstreamURL("http://[::1]:8080/x?y=1#frag")
        #expect(v6.endpoint.host == "::1")
        #expect(v6.target == "/x?y=1")
        #expect(v6.endpoint.hostHeader == "[::1]:8080")
        for bad in ["ftp://x/", "example.com/v1", "http:///v1", "http://user@x/", "http://x:99999/"] {
            #expect(throws: UpstreamError.self, "\(bad)") { try UpstreamURL(bad) }
        }
    }

    final class LoopToken {}
}

extension UpstreamPoolStateMachine.Lease {
    fileprivate var isConnect: Bool {
        if case .connect = self { return true }
        return false
    }
}

extension UpstreamExchangeStateMachine {
    /// What `waitForHead` does when the head is ready, without a continuation.
    mutating func takeHeadForTesting() {
        if case .headReady(_, let body) = state { self = Self.streaming(body, highWatermark: highWatermark) }
    }

    static func streaming(_ body: Body, highWatermark: Int) -> Self {
        var machine = Self(highWatermark: highWatermark)
        machine.state = .streaming(body)
        return machine
    }
}
