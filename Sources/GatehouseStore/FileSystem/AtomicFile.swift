import Glibc

/// Whole-file replacement that a reader can never observe half done.
///
/// The bytes go to `<file>.<random>.tmp`, created 0600 with `O_EXCL` in the same folder, which is
/// fsynced, renamed over the target, and then the folder is fsynced so the rename itself is durable.
/// A reader opening the file sees the old content or the new, never a part.
public enum AtomicFile {
    /// Replaces the content of `path` with `bytes`.
    /// - Throws: `StoreError` naming the file; the original file is unchanged when this throws.
    public static func write(_ bytes: [UInt8], to path: String) throws(StoreError) {
        let directory = FileIO.parentDirectory(of: path)
        try FileIO.makeDirectories(directory)
        var random = SystemRandomNumberGenerator()
        let suffix = String(random.next() as UInt64, radix: 36)
        // The pid in the name lets a later writer remove what a killed writer left behind.
        let temporary = "\(path).\(getpid()).\(suffix).tmp"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw .system("cannot create", path: temporary) }
        var renamed = false
        defer { if !renamed { unlink(temporary) } }
        do {
            defer { close(fd) }
            try FileIO.writeAll(fd: fd, bytes, path: temporary)
            // The umask could have narrowed the mode further, never widened it; make it exactly 0600.
            guard fchmod(fd, 0o600) == 0 else { throw StoreError.system("cannot set the mode of", path: temporary) }
            guard fsync(fd) == 0 else { throw StoreError.system("cannot flush", path: temporary) }
        }
        StoreWriteJournal.shared.record(bytes, to: path)
        guard rename(temporary, path) == 0 else { throw .system("cannot replace", path: path) }
        renamed = true
        let dirFD = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if dirFD >= 0 {
            _ = fsync(dirFD)
            close(dirFD)
        }
    }

    /// Removes temporary files that writers of `path` (and of its lock) left when they were killed:
    /// `<name>.<pid>.<random>.tmp` and `<name>.lock.<pid>.<random>.tmp` whose pid is no longer running.
    public static func removeStaleTemporaries(of path: String) {
        let directory = FileIO.parentDirectory(of: path)
        let name = FileIO.fileName(of: path)
        for entry in FileIO.directoryEntries(directory) where entry.hasSuffix(".tmp") {
            var rest: Substring
            if entry.hasPrefix(name + ".lock.") {
                rest = entry.dropFirst(name.count + 6)
            } else if entry.hasPrefix(name + ".") {
                rest = entry.dropFirst(name.count + 1)
            } else {
                continue
            }
            rest = rest.dropLast(4)
            let parts = rest.split(separator: ".")
            guard parts.count == 2, let pid = Int32(parts[0]), !ProcessInspector.isAlive(pid) else { continue }
            unlink(directory + "/" + entry)
        }
    }
}
