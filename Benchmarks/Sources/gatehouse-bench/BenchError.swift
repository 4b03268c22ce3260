/// A failure of the benchmark itself (bad arguments, a child that did not report), with a message a
/// person can act on.
struct BenchError: Error, CustomStringConvertible {
    /// What went wrong and, where it helps, what to do.
    let message: String

    init(_ message: String) {
        self.message = message
    }

    var description: String { message }
}
