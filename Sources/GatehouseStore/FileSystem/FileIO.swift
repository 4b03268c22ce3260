import Glibc

/// Small, direct file operations on paths, with errors that name the path.
public enum FileIO {
    /// The whole content of a file, or `nil` when it does not exist.
    public static func read(_ path: String) throws(StoreError) -> [UInt8]? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        if fd < 0 {
            if errno == ENOENT { return nil }
            throw .system("cannot open", path: path)
        }
        defer { close(fd) }
        return try readAll(fd: fd, path: path)
    }

    /// Everything that is left to read from a descriptor.
    static func readAll(fd: Int32, path: String) throws(StoreError) -> [UInt8] {
        var result: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 64 * 1024)
        while true {
            let n = chunk.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            if n < 0 {
                if errno == EINTR { continue }
                throw .system("cannot read", path: path)
            }
            if n == 0 { return result }
            result.append(contentsOf: chunk[0..<n])
        }
    }

    /// Writes all of `bytes` to a descriptor.
    static func writeAll(fd: Int32, _ bytes: [UInt8], path: String) throws(StoreError) {
        var offset = 0
        while offset < bytes.count {
            let n = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress! + offset, $0.count - offset) }
            if n < 0 {
                if errno == EINTR { continue }
                throw .system("cannot write", path: path)
            }
            offset += n
        }
    }

    /// Creates a folder and its missing parents with mode 0700. Existing folders keep their mode: the
    /// store never widens (or narrows) what a person set.
    public static func makeDirectories(_ path: String) throws(StoreError) {
        var stats = stat()
        if stat(path, &stats) == 0 {
            guard (stats.st_mode & S_IFMT) == S_IFDIR else {
                throw StoreError(code: .io, path: path, message: "\(path) exists and is not a folder")
            }
            return
        }
        let parent = parentDirectory(of: path)
        if parent != path && !parent.isEmpty { try makeDirectories(parent) }
        if mkdir(path, 0o700) != 0 {
            if errno == EEXIST { return }
            throw .system("cannot create the folder", path: path)
        }
        // Exactly 0700 whatever the umask: a narrower one could leave the owner unable to write.
        chmod(path, 0o700)
    }

    /// The folder part of a path (`/a/b/c` → `/a/b`).
    public static func parentDirectory(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        if slash == path.startIndex { return "/" }
        return String(path[..<slash])
    }

    /// The last component of a path.
    public static func fileName(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return path }
        return String(path[path.index(after: slash)...])
    }

    /// The permission bits of a file, or `nil` when it does not exist.
    public static func mode(of path: String) -> mode_t? {
        var stats = stat()
        guard stat(path, &stats) == 0 else { return nil }
        return stats.st_mode & 0o7777
    }

    /// Whether something exists at a path.
    public static func exists(_ path: String) -> Bool {
        var stats = stat()
        return stat(path, &stats) == 0
    }

    /// The names in a folder, sorted (empty when it does not exist).
    public static func directoryEntries(_ directory: String) -> [String] {
        guard let dir = opendir(directory) else { return [] }
        defer { closedir(dir) }
        var names: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix(while: { $0 != 0 }), as: UTF8.self) }
            if name != "." && name != ".." { names.append(name) }
        }
        return names.sorted()
    }
}
