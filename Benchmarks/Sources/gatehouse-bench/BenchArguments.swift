/// The options of a benchmark's command line, read one after another; errors end with the usage.
struct BenchArguments {
    private var rest: ArraySlice<String>
    let usage: String

    init(_ arguments: [String], usage: String) {
        self.rest = arguments[...]
        self.usage = usage
    }

    /// The next option, or nil at the end.
    mutating func next() -> String? { rest.popFirst() }

    /// The whole number after `flag`, at least `minimum`.
    mutating func count(_ flag: String, minimum: Int = 1) throws -> Int {
        guard let text = rest.popFirst(), let value = Int(text), value >= minimum else {
            throw BenchError("\(flag) needs a whole number of at least \(minimum)\n\(usage)")
        }
        return value
    }

    /// The path after `flag`.
    mutating func path(_ flag: String) throws -> String { try value(flag, naming: "a path") }

    /// The argument after `flag`, which the error calls `what` when it is missing.
    mutating func value(_ flag: String, naming what: String) throws -> String {
        guard let value = rest.popFirst() else { throw BenchError("\(flag) needs \(what)\n\(usage)") }
        return value
    }

    func unknown(_ argument: String) -> BenchError { BenchError("unknown argument '\(argument)'\n\(usage)") }
}
