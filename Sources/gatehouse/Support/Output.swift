import GatehouseCore
import Glibc

/// Writes command output.
enum Output {
    /// Prints a JSON value, pretty, to standard output.
    static func printJSON(_ value: JSONValue) {
        print(value.serializedString(pretty: true), terminator: "")
    }

    /// Prints a note for the person at the terminal on standard error.
    static func note(_ text: String) {
        FileHandleStandardError.write("note: \(text)\n")
    }

    /// Lays out rows under headers, columns padded to the widest cell.
    static func table(headers: [String], rows: [[String]]) -> String {
        var widths = headers.map(\.count)
        for row in rows {
            for (index, cell) in row.enumerated() where index < widths.count {
                widths[index] = max(widths[index], cell.count)
            }
        }
        func line(_ cells: [String]) -> String {
            var text = ""
            for (index, cell) in cells.enumerated() {
                let isLast = index == cells.count - 1
                text += isLast ? cell : cell + String(repeating: " ", count: widths[index] - cell.count + 2)
            }
            return text
        }
        return ([line(headers)] + rows.map(line)).joined(separator: "\n") + "\n"
    }

    /// A millisecond timestamp as ISO-8601, or `-`.
    static func time(_ millis: Int64?) -> String {
        millis.map { ISO8601.format(millis: $0) } ?? "-"
    }

    /// A millisecond timestamp as a JSON string or null.
    static func jsonTime(_ millis: Int64?) -> JSONValue {
        millis.map { .string(ISO8601.format(millis: $0)) } ?? .null
    }
}

/// Standard error, unbuffered.
enum FileHandleStandardError {
    static func write(_ text: String) {
        var bytes = Array(text.utf8)
        bytes.withUnsafeMutableBytes { raw in
            var offset = 0
            while offset < raw.count {
                let n = Glibc.write(2, raw.baseAddress! + offset, raw.count - offset)
                if n <= 0 { break }
                offset += n
            }
        }
    }
}
