import Glibc

/// Prints a progress line on standard error (standard output holds the report).
func progress(_ text: String) {
    let line = "gatehouse-bench: " + text + "\n"
    _ = line.utf8CString.withUnsafeBufferPointer { write(2, $0.baseAddress, $0.count - 1) }
}
