import Glibc

/// An error of the store: a file that does not parse, a lock that could not be had, a system call
/// that failed. The message names the file and says what a person can do.
public struct StoreError: Error, Sendable, CustomStringConvertible {
    /// What kind of error this is.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Base: String, Hashable, Sendable {
            case malformedFile = "malformed_file"
            case invalidContent = "invalid_content"
            case lockTimeout = "lock_timeout"
            case io
            case notFound = "not_found"
            case conflict
            case invalidArgument = "invalid_argument"
            case unsupportedVersion = "unsupported_version"
        }
        private let base: Base
        private init(_ base: Base) { self.base = base }

        /// The file is not valid JSON.
        public static let malformedFile = Code(.malformedFile)
        /// The file is JSON but a field has the wrong type or value.
        public static let invalidContent = Code(.invalidContent)
        /// The lock could not be had before the deadline.
        public static let lockTimeout = Code(.lockTimeout)
        /// A system call failed.
        public static let io = Code(.io)
        /// A profile, agent or file that was asked for does not exist.
        public static let notFound = Code(.notFound)
        /// The change conflicts with what is there (for example, a profile that already exists).
        public static let conflict = Code(.conflict)
        /// An argument is not valid.
        public static let invalidArgument = Code(.invalidArgument)
        /// The file was written by a newer version.
        public static let unsupportedVersion = Code(.unsupportedVersion)

        public var description: String { base.rawValue }
    }

    public var code: Code
    /// The file concerned, when there is one.
    public var path: String?
    /// A message a person can act on; it names the file.
    public var message: String

    public init(code: Code, path: String?, message: String) {
        self.code = code
        self.path = path
        self.message = message
    }

    public var description: String { message }

    /// An error for a failed system call, with the text of `errno`.
    static func system(_ operation: String, path: String, errno code: Int32 = errno) -> StoreError {
        StoreError(code: .io, path: path, message: "\(operation) \(path): \(String(cString: strerror(code))) (errno \(code))")
    }
}
