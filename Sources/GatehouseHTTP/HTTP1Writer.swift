import NIOCore
import NIOHTTP1

/// Writes HTTP/1.1 heads straight into a `ByteBuffer`: the gateway's hot path sends a whole message
/// (head and a small body) as one buffer, with no pass through NIO's encoders.
///
/// Names and values are written as they are: they must be valid HTTP (no CR, LF or NUL). The
/// gateway's are its own constants, headers parsed by NIO's decoders (which refuse those bytes), and
/// credentials it checks (`UpstreamRequest.isValidHeaderValue`).
public enum HTTP1Writer {
    /// `POST /v1/chat/completions HTTP/1.1`, its headers, and the empty line that ends the head.
    public static func writeHead(_ head: HTTPRequestHead, to buffer: inout ByteBuffer) {
        buffer.writeString(head.method.rawValue)
        buffer.writeInteger(UInt8(ascii: " "))
        buffer.writeString(head.uri)
        buffer.writeInteger(UInt8(ascii: " "))
        writeVersion(head.version, to: &buffer)
        buffer.writeStaticString("\r\n")
        writeHeaders(head.headers, to: &buffer)
        buffer.writeStaticString("\r\n")
    }

    /// `HTTP/1.1 200 OK` and its line end.
    public static func writeStatusLine(_ version: HTTPVersion, _ status: HTTPResponseStatus, to buffer: inout ByteBuffer) {
        writeVersion(version, to: &buffer)
        buffer.writeInteger(UInt8(ascii: " "))
        writeDecimal(Int(status.code), to: &buffer)
        buffer.writeInteger(UInt8(ascii: " "))
        buffer.writeString(status.reasonPhrase)
        buffer.writeStaticString("\r\n")
    }

    /// Every header as a `name: value` line.
    public static func writeHeaders(_ headers: HTTPHeaders, to buffer: inout ByteBuffer) {
        for (name, value) in headers {
            buffer.writeString(name)
            buffer.writeStaticString(": ")
            buffer.writeString(value)
            buffer.writeStaticString("\r\n")
        }
    }

    /// One `name: value` line.
    public static func writeHeader(_ name: StaticString, _ value: String, to buffer: inout ByteBuffer) {
        buffer.writeStaticString(name)
        buffer.writeStaticString(": ")
        buffer.writeString(value)
        buffer.writeStaticString("\r\n")
    }

    /// One `name: value` line with a decimal value (`content-length: 42`).
    public static func writeHeader(_ name: StaticString, _ value: Int, to buffer: inout ByteBuffer) {
        buffer.writeStaticString(name)
        buffer.writeStaticString(": ")
        writeDecimal(value, to: &buffer)
        buffer.writeStaticString("\r\n")
    }

    /// The bytes a head of these headers takes, past its first line (an estimate for a buffer's
    /// capacity).
    public static func size(of headers: HTTPHeaders) -> Int {
        var size = 2
        for (name, value) in headers { size += name.utf8.count + value.utf8.count + 4 }
        return size
    }

    private static func writeVersion(_ version: HTTPVersion, to buffer: inout ByteBuffer) {
        buffer.writeStaticString("HTTP/")
        writeDecimal(version.major, to: &buffer)
        buffer.writeInteger(UInt8(ascii: "."))
        writeDecimal(version.minor, to: &buffer)
    }

    /// A non-negative integer in decimal, with no string in between.
    static func writeDecimal(_ value: Int, to buffer: inout ByteBuffer) {
        precondition(value >= 0, "a negative number in an HTTP head")
        var divisor = 1
        while divisor <= value / 10 { divisor *= 10 }
        var rest = value
        while divisor > 0 {
            buffer.writeInteger(UInt8(ascii: "0") + UInt8(rest / divisor))
            rest %= divisor
            divisor /= 10
        }
    }
}
