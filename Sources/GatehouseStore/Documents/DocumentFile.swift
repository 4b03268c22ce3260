import GatehouseCore
import Logging
import NIOPosix

/// One JSON document on disk under the lock contract: unlocked consistent reads, and locked
/// read-modify-write updates that re-read the file under the lock, so no update is ever lost.
public struct DocumentFile<Document: StoreDocument>: Sendable {
    /// The file's path.
    public let path: String
    public let lockOptions: FileLockOptions

    public init(path: String, lockOptions: FileLockOptions = .store) {
        self.path = path
        self.lockOptions = lockOptions
    }

    /// Reads the document without locking (writes are atomic renames). A missing file reads as empty.
    /// - Throws: `StoreError` naming the file and the line and column, or the field, that is wrong.
    public func read() throws(StoreError) -> Document {
        guard let bytes = try FileIO.read(path) else { return .empty }
        return try Self.decode(bytes, path: path)
    }

    /// Reads the raw bytes too, so a caller can tell whether anything changed.
    func readWithBytes() throws(StoreError) -> (Document, [UInt8]?) {
        guard let bytes = try FileIO.read(path) else { return (.empty, nil) }
        return (try Self.decode(bytes, path: path), bytes)
    }

    /// Decodes a document's bytes.
    public static func decode(_ bytes: [UInt8], path: String) throws(StoreError) -> Document {
        let json: JSONValue
        do {
            json = try JSONValue.parse(bytes)
        } catch {
            throw StoreError(
                code: .malformedFile, path: path,
                message: "\(path): line \(error.line), column \(error.column): \(error.message). Gatehouse does not write this file until it parses; fix it by hand (or move it aside) and try again.")
        }
        do {
            return try Document(json: json)
        } catch {
            throw StoreError(
                code: .invalidContent, path: path,
                message: "\(path): \(error.field): \(error.reason). Gatehouse does not write this file until this is fixed; fix it by hand and try again.")
        }
    }

    /// Changes the document under the lock: waits for the lock, re-reads the file, applies `change`,
    /// and writes the result atomically if it differs. Returns what `change` returns.
    /// - Throws: `StoreError` (bad file, lock timeout, write failure) or what `change` throws; the file
    ///   is unchanged when anything throws.
    public func update<T>(
        logger: Logger? = nil,
        isolation: isolated (any Actor)? = #isolation,
        _ change: (inout Document) throws -> T
    ) async throws -> T {
        try await withLockedDocument(logger: logger) { current in
            var document = current
            let result = try change(&document)
            return (document, result)
        }
    }

    /// Holds the lock across an asynchronous step: re-reads the file, runs `body` with what it holds,
    /// and writes the document `body` returns (when it is not nil and differs). For changes that
    /// depend on a call elsewhere, such as an OAuth refresh whose result must be stored before anyone
    /// else can act on the old credential.
    public func withLockedDocument<T>(
        logger: Logger? = nil,
        isolation: isolated (any Actor)? = #isolation,
        _ body: (Document) async throws -> (Document?, T)
    ) async throws -> T {
        try await FileLock.withLock(protecting: path, options: lockOptions, logger: logger) {
            let (current, bytes) = try readWithBytes()
            let (changed, result) = try await body(current)
            if let changed {
                let output = changed.json.serialized(pretty: true)
                if output != bytes {
                    // The fsyncs block: they run on a thread of the pool kept for that, never on the
                    // threads that serve connections or run tasks.
                    let path = path
                    try await NIOThreadPool.singleton.runIfActive {
                        AtomicFile.removeStaleTemporaries(of: path)
                        try AtomicFile.write(output, to: path)
                    }
                }
            }
            return result
        }
    }
}
