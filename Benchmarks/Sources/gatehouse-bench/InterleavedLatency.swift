import GatehouseCore
import GatehouseStore
import Glibc

/// `gatehouse-bench interleave`: latency at concurrency 1 of several HTTP targets, measured in turn,
/// one request each, over and over.
///
/// `wrk` measures one target for a whole run, so two targets' runs meet different spells of a shared
/// machine, and the difference of their 99th percentiles is mostly the difference of the spells. Here
/// every target gets one request in turn (direct, bare proxy, gateway, direct, ...), each on its own
/// keep-alive connection with a single request in flight at any time, so all of them meet the same
/// spells, a few hundred microseconds apart, and the differences of their percentiles are what each
/// path adds. The client is one thread on blocking sockets: it costs each target the same.
struct InterleavedLatency {
    struct Target {
        let name: String
        let port: UInt16
        let request: [UInt8]
    }

    struct Options {
        var targets: [Target] = []
        var seconds = 10
        var warmupSeconds = 1
        var json = false

        static let usage = """
            usage: gatehouse-bench interleave --target NAME URL TOKEN BODY [--target ...] [--duration 10] [--warmup 1] [--json]
              URL: http://127.0.0.1:PORT/PATH; TOKEN: sent as Authorization: Bearer (\"-\" for none,
              @FILE for the token in FILE, kept out of the command line);
              BODY: the JSON body POSTed. Added latency is measured against the first target.
            """

        init(arguments: [String]) throws {
            var rest = BenchArguments(arguments, usage: Self.usage)
            while let argument = rest.next() {
                switch argument {
                case "--target":
                    let name = try rest.value(argument, naming: "a name, a URL, a token and a body")
                    let url = try rest.value("--target \(name)", naming: "a URL, a token and a body")
                    let token = try rest.value("--target \(name) \(url)", naming: "a token (or -) and a body")
                    let body = try rest.value("--target \(name) \(url) TOKEN", naming: "a body")
                    targets.append(try Self.target(name: name, url: url, token: token, body: body))
                case "--duration": seconds = try rest.count(argument)
                case "--warmup": warmupSeconds = try rest.count(argument, minimum: 0)
                case "--json": json = true
                default: throw rest.unknown(argument)
                }
            }
            guard !targets.isEmpty else { throw BenchError("interleave needs at least one --target\n\(Self.usage)") }
        }

        /// A target's request bytes: a keep-alive POST of `body`, headers as `wrk` sends them.
        static func target(name: String, url: String, token: String, body: String) throws -> Target {
            let prefix = "http://127.0.0.1:"
            guard url.hasPrefix(prefix) else {
                throw BenchError("--target \(name): the URL must start with \(prefix) (loopback, plain HTTP): \(url)")
            }
            let rest = url.dropFirst(prefix.count)
            let portText = rest.prefix { $0 != "/" }
            guard let port = UInt16(portText), port != 0 else {
                throw BenchError("--target \(name): no port in \(url)")
            }
            let path = rest.dropFirst(portText.count)
            var head = "POST \(path.isEmpty ? "/" : path) HTTP/1.1\r\nHost: 127.0.0.1:\(port)\r\n"
            head += "Content-Type: application/json\r\nContent-Length: \(body.utf8.count)\r\n"
            if token.hasPrefix("@") {
                let path = String(token.dropFirst())
                guard let bytes = try? FileIO.read(path) else {
                    throw BenchError("--target \(name): cannot read the token file \(path)")
                }
                head += "Authorization: Bearer \(String(decoding: bytes, as: UTF8.self).filter { !$0.isWhitespace })\r\n"
            } else if token != "-" {
                head += "Authorization: Bearer \(token)\r\n"
            }
            head += "\r\n"
            return Target(name: name, port: port, request: Array(head.utf8) + Array(body.utf8))
        }
    }

    /// One target's figures.
    struct Result {
        let name: String
        /// Latencies in nanoseconds, ascending.
        let sorted: [UInt64]
        /// Answers that were not 2xx, and connections that failed.
        let errors: Int

        func percentile(_ p: Double) -> UInt64 { LatencySummary.percentile(p, ofSorted: sorted) }

        /// Microseconds.
        func micros(_ p: Double) -> Int64 { Int64(percentile(p) / 1000) }

        /// What this target adds to `base` at the `p`-th percentile, in microseconds; nil when either
        /// has no sample.
        func added(over base: Result, _ p: Double) -> Int64? {
            sorted.isEmpty || base.sorted.isEmpty ? nil : micros(p) - base.micros(p)
        }
    }

    let options: Options

    /// Connects to every target, warms up, then measures for the duration.
    func run() throws -> [Result] {
        var connections = try options.targets.map { try Connection(target: $0) }
        var samples = [[UInt64]](repeating: [], count: connections.count)
        var errors = [Int](repeating: 0, count: connections.count)
        let warmupEnd = MonotonicTime.now() + UInt64(options.warmupSeconds) * 1_000_000_000
        while MonotonicTime.now() < warmupEnd {
            for index in connections.indices { _ = try connections[index].exchange() }
        }
        for index in samples.indices { samples[index].reserveCapacity(options.seconds * 10_000) }
        let end = MonotonicTime.now() + UInt64(options.seconds) * 1_000_000_000
        while MonotonicTime.now() < end {
            for index in connections.indices {
                let start = MonotonicTime.now()
                let ok = try connections[index].exchange()
                let finish = MonotonicTime.now()
                if ok { samples[index].append(finish - start) } else { errors[index] += 1 }
            }
        }
        return connections.indices.map {
            Result(name: connections[$0].target.name, sorted: samples[$0].sorted(), errors: errors[$0])
        }
    }

    // MARK: Report

    static let percentiles: [(label: String, value: Double)] = [("p50", 50), ("p90", 90), ("p99", 99), ("p99.9", 99.9)]

    func text(_ results: [Result]) -> String {
        var lines = [
            "interleaved latency at concurrency 1: one request to each target in turn for \(options.seconds) s", "",
        ]
        var header = NumberFormat.pad("path", 10, left: false) + NumberFormat.pad("requests", 10) + NumberFormat.pad("errors", 8)
        for (label, _) in Self.percentiles { header += NumberFormat.pad("\(label) us", 11) }
        for (label, _) in Self.percentiles { header += NumberFormat.pad("added \(label)", 13) }
        lines.append(header)
        for (index, result) in results.enumerated() {
            var line = NumberFormat.pad(result.name, 10, left: false) + NumberFormat.pad("\(result.sorted.count)", 10)
            line += NumberFormat.pad("\(result.errors)", 8)
            for (_, p) in Self.percentiles {
                line += NumberFormat.pad(result.sorted.isEmpty ? "-" : "\(result.micros(p))", 11)
            }
            if index > 0 {
                for (_, p) in Self.percentiles {
                    if let added = result.added(over: results[0], p) { line += NumberFormat.pad("\(added)", 13) }
                }
            }
            lines.append(line)
        }
        if results.contains(where: { $0.errors > 0 }) {
            lines.append("errors: answers that were not 2xx or connections that closed; their times are left out")
        }
        return lines.joined(separator: "\n")
    }

    func json(_ results: [Result], commandLine: String) -> JSONValue {
        return .object([
            "benchmark": .string("interleave"),
            "command": .string(commandLine),
            "seconds": .int(Int64(options.seconds)),
            "targets": .array(
                results.enumerated().map { index, result in
                    var fields: [String: JSONValue] = [
                        "name": .string(result.name),
                        "requests": .int(Int64(result.sorted.count)),
                        "errors": .int(Int64(result.errors)),
                    ]
                    for (label, p) in Self.percentiles where !result.sorted.isEmpty {
                        // `p99.9` is `p999` in a key: no dot for a script to quote.
                        let label = label.replacing(".", with: "")
                        fields["\(label)Micros"] = .int(result.micros(p))
                        if index > 0, let added = result.added(over: results[0], p) {
                            fields["added\(label.capitalizedFirst)Micros"] = .int(added)
                        }
                    }
                    return .object(fields)
                }),
        ])
    }

    // MARK: Connection

    /// A keep-alive connection to a target on a blocking socket, one request at a time.
    struct Connection {
        let target: Target
        private var socket: Int32 = -1
        private var buffer = [UInt8](repeating: 0, count: 256 * 1024)

        init(target: Target) throws {
            self.target = target
            try connect()
        }

        private mutating func connect() throws {
            if socket >= 0 { close(socket) }
            socket = Glibc.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            guard socket >= 0 else { throw BenchError("\(target.name): socket() failed: errno \(errno)") }
            var one: Int32 = 1
            setsockopt(socket, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_port = target.port.bigEndian
            address.sin_addr.s_addr = UInt32(0x7F00_0001).bigEndian
            let result = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    Glibc.connect(socket, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
                }
            }
            guard result == 0 else {
                throw BenchError("\(target.name): cannot connect to 127.0.0.1:\(target.port): errno \(errno)")
            }
        }

        /// Sends the request and reads its whole answer. Returns whether it was a 2xx; a connection
        /// the server closed is opened again (and the exchange counts as an error).
        mutating func exchange() throws -> Bool {
            guard send() else {
                try connect()
                return false
            }
            switch receive() {
            case .answer(let status): return (200..<300).contains(status)
            case .closed:
                try connect()
                return false
            }
        }

        private func send() -> Bool {
            target.request.withUnsafeBytes { bytes in
                var offset = 0
                while offset < bytes.count {
                    let written = Glibc.send(socket, bytes.baseAddress! + offset, bytes.count - offset, Int32(MSG_NOSIGNAL))
                    if written > 0 {
                        offset += written
                    } else if written < 0 && errno == EINTR {
                        continue
                    } else {
                        return false
                    }
                }
                return true
            }
        }

        enum Received {
            case answer(status: Int)
            case closed
        }

        /// Reads one answer: its head, then a `Content-Length` body or a chunked one up to its last
        /// chunk. Answers are read one at a time, so a read never takes bytes of the next one.
        private mutating func receive() -> Received {
            var count = 0
            var headEnd: Int?
            var bodyLength: Int?
            var chunked = false
            var status = 0
            while true {
                if count == buffer.count { buffer.append(contentsOf: [UInt8](repeating: 0, count: buffer.count)) }
                let read = buffer.withUnsafeMutableBytes { Glibc.recv(socket, $0.baseAddress! + count, $0.count - count, 0) }
                if read < 0 && errno == EINTR { continue }
                guard read > 0 else { return .closed }
                count += read
                if headEnd == nil, let end = Self.find([13, 10, 13, 10], in: buffer, before: count) {
                    headEnd = end + 4
                    let head = String(decoding: buffer[0..<end], as: UTF8.self).lowercased()
                    status = Int(head.split(separator: " ", maxSplits: 2).dropFirst().first ?? "") ?? 0
                    for line in head.split(separator: "\r\n") {
                        if line.hasPrefix("content-length:") {
                            bodyLength = Int(line.dropFirst("content-length:".count).filter { $0 != " " })
                        } else if line.hasPrefix("transfer-encoding:") && line.contains("chunked") {
                            chunked = true
                        }
                    }
                }
                guard let headEnd else { continue }
                if let bodyLength {
                    if count >= headEnd + bodyLength { return .answer(status: status) }
                } else if chunked {
                    // The last chunk, with no trailers.
                    if count >= headEnd + 5 && buffer[count - 5..<count].elementsEqual([48, 13, 10, 13, 10]) {
                        return .answer(status: status)
                    }
                } else {
                    return .answer(status: status)
                }
            }
        }

        private static func find(_ needle: [UInt8], in haystack: [UInt8], before end: Int) -> Int? {
            guard end >= needle.count else { return nil }
            for start in 0...(end - needle.count) where haystack[start] == needle[0] {
                if haystack[start..<start + needle.count].elementsEqual(needle) { return start }
            }
            return nil
        }
    }
}

extension String {
    fileprivate var capitalizedFirst: String { prefix(1).uppercased() + dropFirst() }
}
