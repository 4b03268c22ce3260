import Glibc

/// What identifies a file's content without reading it: inode, size and modification time. An atomic
/// replace changes the inode; an in-place write changes the time.
struct FileIdentity: Hashable, Sendable {
    let inode: UInt64
    let size: Int64
    let modifiedNanos: Int64

    /// The identity of the file at `path`, or `nil` when it does not exist.
    init?(path: String) {
        var info = stat()
        guard stat(path, &info) == 0 else { return nil }
        inode = UInt64(info.st_ino)
        size = Int64(info.st_size)
        modifiedNanos = Int64(info.st_mtim.tv_sec) * 1_000_000_000 + Int64(info.st_mtim.tv_nsec)
    }
}
