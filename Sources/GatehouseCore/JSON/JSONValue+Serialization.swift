// Deterministic JSON writer (standard library only).

extension JSONValue {
    /// The UTF-8 bytes of this value. Object keys are sorted (byte order of their UTF-8) so output is deterministic.
    /// pretty: two-space indent, "key": value, one element per line, empty containers as [] and {}, and a trailing newline.
    /// compact: no whitespace at all, no trailing newline.
    ///
    /// A `.double` that is not finite (which `parse` never produces) is written as `null`, so the output is always valid JSON.
    public func serialized(pretty: Bool = true) -> [UInt8] {
        var writer = JSONWriter(pretty: pretty)
        writer.write(self, depth: 0)
        if pretty {
            writer.output.append(0x0A)
        }
        return writer.output
    }

    /// Same as `serialized(pretty:)` as a String.
    public func serializedString(pretty: Bool = true) -> String {
        String(decoding: serialized(pretty: pretty), as: UTF8.self)
    }
}

private struct JSONWriter {
    let pretty: Bool
    var output: [UInt8] = []

    init(pretty: Bool) {
        self.pretty = pretty
        output.reserveCapacity(256)
    }

    mutating func write(_ value: JSONValue, depth: Int) {
        switch value {
        case .null:
            append("null")
        case .bool(let bool):
            append(bool ? "true" : "false")
        case .int(let int):
            writeInteger(int)
        case .double(let double):
            if double.isFinite {
                // Swift's shortest round-trip form: "0.1", "1.0", "1e+20", "-0.0", "5e-324" are all valid JSON numbers.
                output.append(contentsOf: double.description.utf8)
            } else {
                append("null")
            }
        case .string(let string):
            writeString(string)
        case .array(let elements):
            guard !elements.isEmpty else {
                append("[]")
                return
            }
            output.append(0x5B)  // [
            var first = true
            for element in elements {
                if !first {
                    output.append(0x2C)  // ,
                }
                first = false
                newline(depth: depth + 1)
                write(element, depth: depth + 1)
            }
            newline(depth: depth)
            output.append(0x5D)  // ]
        case .object(let members):
            guard !members.isEmpty else {
                append("{}")
                return
            }
            let sorted = members.sorted { $0.key.utf8.lexicographicallyPrecedes($1.key.utf8) }
            output.append(0x7B)  // {
            var first = true
            for (key, member) in sorted {
                if !first {
                    output.append(0x2C)  // ,
                }
                first = false
                newline(depth: depth + 1)
                writeString(key)
                output.append(0x3A)  // :
                if pretty {
                    output.append(0x20)
                }
                write(member, depth: depth + 1)
            }
            newline(depth: depth)
            output.append(0x7D)  // }
        }
    }

    @inline(__always)
    mutating func append(_ text: StaticString) {
        output.append(contentsOf: UnsafeBufferPointer(start: text.utf8Start, count: text.utf8CodeUnitCount))
    }

    @inline(__always)
    mutating func newline(depth: Int) {
        guard pretty else { return }
        output.append(0x0A)
        output.append(contentsOf: repeatElement(0x20, count: 2 * depth))
    }

    mutating func writeInteger(_ value: Int64) {
        if value < 0 {
            output.append(0x2D)  // -
        }
        var magnitude = value.magnitude
        // UInt64.max has 20 digits.
        var digits: (UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0)
        withUnsafeMutableBytes(of: &digits) { buffer in
            var index = buffer.count
            repeat {
                index -= 1
                buffer[index] = UInt8(truncatingIfNeeded: magnitude % 10) + 0x30
                magnitude /= 10
            } while magnitude != 0
            output.append(contentsOf: buffer[index...])
        }
    }

    mutating func writeString(_ string: String) {
        output.append(0x22)
        let done: Void? = string.utf8.withContiguousStorageIfAvailable { bytes in
            writeEscaped(bytes)
        }
        if done == nil {
            writeEscaped(Array(string.utf8))
        }
        output.append(0x22)
    }

    mutating func writeEscaped(_ bytes: some Collection<UInt8>) {
        var runStart = bytes.startIndex
        var index = bytes.startIndex
        while index != bytes.endIndex {
            let byte = bytes[index]
            if byte >= 0x20 && byte != 0x22 && byte != 0x5C {
                bytes.formIndex(after: &index)
                continue
            }
            output.append(contentsOf: bytes[runStart..<index])
            output.append(0x5C)  // backslash
            switch byte {
            case 0x22: output.append(0x22)  // \"
            case 0x5C: output.append(0x5C)  // \\
            case 0x08: output.append(0x62)  // \b
            case 0x0C: output.append(0x66)  // \f
            case 0x0A: output.append(0x6E)  // \n
            case 0x0D: output.append(0x72)  // \r
            case 0x09: output.append(0x74)  // \t
            default:
                // \u00XX, lowercase hex.
                let hex: StaticString = "0123456789abcdef"
                let digits = hex.utf8Start
                output.append(contentsOf: [0x75, 0x30, 0x30, digits[Int(byte >> 4)], digits[Int(byte & 0x0F)]])
            }
            bytes.formIndex(after: &index)
            runStart = index
        }
        output.append(contentsOf: bytes[runStart..<index])
    }
}
