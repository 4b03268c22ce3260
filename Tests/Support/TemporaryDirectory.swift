import Foundation
import GatehouseStore

/// A fresh folder under the system's temporary folder, removed when `remove()` is called.
public struct TemporaryDirectory: Sendable {
    public let path: String

    public init(prefix: String = "gatehouse-test") throws {
        let base = ProcessInfo.processInfo.environment["TMPDIR"] ?? "/tmp"
        var template = Array("\(base)/\(prefix)-XXXXXX".utf8CString)
        let created = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }
        guard created != nil else { throw CocoaError(.fileWriteUnknown) }
        self.path = String(decoding: template.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// A `GatehouseHome` inside this folder.
    public var home: GatehouseHome { GatehouseHome(path: path + "/home") }

    public func remove() {
        try? FileManager.default.removeItem(atPath: path)
    }
}

/// Runs `body` with a fresh temporary folder and removes it afterwards.
public func withTemporaryDirectory<T>(
    isolation: isolated (any Actor)? = #isolation,
    _ body: (TemporaryDirectory) async throws -> T
) async throws -> T {
    let directory = try TemporaryDirectory()
    defer { directory.remove() }
    return try await body(directory)
}
