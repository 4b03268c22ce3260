import NIOCore
import NIOHTTP1

/// Writes HTTP/1.1 heads straight into a `ByteBuffer`: the gateway's hot path sends a whole message
/// (head and a small body) as one buffer, with no pass through NIO's encoders.
///
/// A head is written in two passes over the same lines: the first counts its bytes, the second
/// copies them into room made once (one capacity check and one plain copy per name and value,
/// where a `writeString` per piece checks and grows the buffer each time).
///
/// Names and values are written as they are: they must be valid HTTP (no CR, LF or NUL). The
/// gateway's are its own constants, headers parsed by NIO's decoders (which refuse those bytes), and
/// credentials it checks (`UpstreamRequest.isValidHeaderValue`).
public struct HTTP1Writer: ~Copyable {
    /// A body up to this size goes out in its head's buffer (one copy, one write); a larger one
    /// follows the head as it is.
    public static let copiedBodyLimit = 16 * 1024

    /// Where the bytes go; nil in the counting pass.
    private let out: UnsafeMutableRawBufferPointer?
    /// Bytes written (or counted) so far.
    private var count = 0

    private init(_ out: UnsafeMutableRawBufferPointer?) {
        self.out = out
    }

    /// Writes the lines `body` gives at the end of `buffer`, with room for `reservingAfter` more
    /// bytes behind them (a body to copy there).
    public static func write(to buffer: inout ByteBuffer, reservingAfter: Int = 0, _ body: (inout HTTP1Writer) -> Void) {
        var counting = HTTP1Writer(nil)
        body(&counting)
        let size = counting.count
        buffer.reserveCapacity(minimumWritableBytes: size + reservingAfter)
        buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: size) { out in
            var writer = HTTP1Writer(out)
            body(&writer)
            precondition(writer.count == size, "a head's lines changed between their count and their copy")
            return size
        }
    }

    /// `POST /v1/chat/completions HTTP/1.1` and its line end.
    public mutating func requestLine(_ head: HTTPRequestHead) {
        append(head.method.rawValue)
        append(UInt8(ascii: " "))
        append(head.uri)
        append(UInt8(ascii: " "))
        version(head.version)
        append("\r\n")
    }

    /// `HTTP/1.1 200 OK` and its line end.
    public mutating func statusLine(_ version: HTTPVersion, _ status: HTTPResponseStatus) {
        // Most answers: one copy of the whole line.
        if status == .ok && version == .http1_1 { return append("HTTP/1.1 200 OK\r\n") }
        self.version(version)
        append(UInt8(ascii: " "))
        decimal(Int(status.code))
        append(UInt8(ascii: " "))
        append(status.reasonPhrase)
        append("\r\n")
    }

    /// Every header as a `name: value` line.
    public mutating func headers(_ headers: HTTPHeaders) {
        for (name, value) in headers {
            append(name)
            append(": ")
            append(value)
            append("\r\n")
        }
    }

    /// One `name: value` line.
    public mutating func header(_ name: StaticString, _ value: String) {
        append(name)
        append(": ")
        append(value)
        append("\r\n")
    }

    /// A whole constant line, its end included (`server: gatehouse\r\n`).
    public mutating func line(_ text: StaticString) {
        append(text)
    }

    /// One `name: value` line with a decimal value (`content-length: 42`).
    public mutating func header(_ name: StaticString, _ value: Int) {
        append(name)
        append(": ")
        decimal(value)
        append("\r\n")
    }

    /// The empty line that ends a head.
    public mutating func endOfHead() {
        append("\r\n")
    }

    private mutating func version(_ version: HTTPVersion) {
        append("HTTP/")
        decimal(version.major)
        append(UInt8(ascii: "."))
        decimal(version.minor)
    }

    private mutating func append(_ byte: UInt8) {
        out?[count] = byte
        count += 1
    }

    private mutating func append(_ text: StaticString) {
        let size = text.utf8CodeUnitCount
        if let out {
            UnsafeMutableRawBufferPointer(rebasing: out[count..<count + size]).copyMemory(
                from: UnsafeRawBufferPointer(start: text.utf8Start, count: size))
        }
        count += size
    }

    private mutating func append(_ text: String) {
        let utf8 = text.utf8
        guard let out else {
            count += utf8.count
            return
        }
        // A native string's bytes are in one place (a short one's are copied out of the string's
        // inline storage first); only a string bridged from elsewhere is copied byte by byte.
        let copied = utf8.withContiguousStorageIfAvailable { bytes in
            UnsafeMutableRawBufferPointer(rebasing: out[count..<count + bytes.count]).copyMemory(from: UnsafeRawBufferPointer(bytes))
            return bytes.count
        }
        if let copied {
            count += copied
        } else {
            for byte in utf8 {
                out[count] = byte
                count += 1
            }
        }
    }

    /// A non-negative integer in decimal, with no string in between.
    private mutating func decimal(_ value: Int) {
        precondition(value >= 0, "a negative number in an HTTP head")
        var divisor = 1
        while divisor <= value / 10 { divisor *= 10 }
        var rest = value
        while divisor > 0 {
            append(UInt8(ascii: "0") + UInt8(rest / divisor))
            rest %= divisor
            divisor /= 10
        }
    }
}
