import Foundation
import GatehouseCore
import GatehouseStore
import GatehouseTestSupport
import Synchronization
import Testing

/// The store's own suites (atomic files, documents, the lock contract, processes) nest in this one,
/// so that tests that start processes, hold kernel locks or measure waits never run at the same time
/// as each other on a small machine. Its helpers are static members, found by the nested suites.
@Suite(.serialized) struct StoreTests {
    /// Writes `text` to `path`, creating the folders above it.
    static func writeText(_ text: String, to path: String) throws {
        try FileManager.default.createDirectory(atPath: FileIO.parentDirectory(of: path), withIntermediateDirectories: true)
        try Data(text.utf8).write(to: URL(fileURLWithPath: path))
    }

    /// The bytes of a file, or `nil` when it does not exist.
    static func readBytes(_ path: String) -> [UInt8]? {
        FileManager.default.contents(atPath: path).map { [UInt8]($0) }
    }

    /// The names in a folder, sorted.
    static func directoryNames(_ path: String) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []).sorted()
    }

    /// The inode of a file.
    static func inode(_ path: String) throws -> UInt64 {
        UInt64(try #require(FileManager.default.attributesOfItem(atPath: path)[.systemFileNumber] as? Int))
    }

    /// Sets a file's modification time to `secondsAgo` seconds before now.
    static func setModified(_ path: String, secondsAgo: Double) throws {
        try FileManager.default.setAttributes([.modificationDate: Date(timeIntervalSinceNow: -secondsAgo)], ofItemAtPath: path)
    }

    /// Runs `body` and returns the `StoreError` it throws; records an issue when it throws nothing or
    /// something else.
    static func storeError<T>(
        isolation: isolated (any Actor)? = #isolation,
        sourceLocation: SourceLocation = #_sourceLocation,
        _ body: () async throws -> T
    ) async -> StoreError? {
        do {
            _ = try await body()
            Issue.record("expected a StoreError, but nothing was thrown", sourceLocation: sourceLocation)
        } catch let error as StoreError {
            return error
        } catch {
            Issue.record("expected a StoreError, got \(error)", sourceLocation: sourceLocation)
        }
        return nil
    }

    /// Lock options with short waits for tests.
    static func shortLock(timeout: Duration = .seconds(1), foreignStaleAfter: Duration = .seconds(30)) -> FileLockOptions {
        FileLockOptions(
            timeout: timeout, initialBackoff: .milliseconds(20), maxBackoff: .milliseconds(200), foreignLockStaleAfter: foreignStaleAfter)
    }

    /// Seconds elapsed since `start`.
    static func seconds(since start: ContinuousClock.Instant) -> Double {
        let elapsed = ContinuousClock.now - start
        return Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
    }

    /// An integer that tasks share.
    final class SharedCounter: Sendable {
        private let atomic = Atomic<Int>(0)
        var value: Int { atomic.load(ordering: .sequentiallyConsistent) }
        /// Adds `delta` and returns the new value.
        @discardableResult func add(_ delta: Int) -> Int { atomic.wrappingAdd(delta, ordering: .sequentiallyConsistent).newValue }
        func set(_ newValue: Int) { atomic.store(newValue, ordering: .sequentiallyConsistent) }
        /// Raises the value to `candidate` if that is larger.
        func raise(to candidate: Int) { atomic.max(candidate, ordering: .sequentiallyConsistent) }
    }
}
