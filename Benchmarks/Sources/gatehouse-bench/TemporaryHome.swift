import GatehouseStore
import Glibc

/// A fresh folder under `/tmp` holding the benchmark's `GATEHOUSE_HOME`, removed by `remove()`.
struct TemporaryHome {
    /// The folder `mkdtemp` made.
    let root: String

    init() throws {
        var template = Array("/tmp/gatehouse-bench-XXXXXX".utf8CString)
        let made = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }
        guard made != nil else { throw BenchError("cannot create a folder under /tmp: \(String(cString: strerror(errno)))") }
        root = String(decoding: template.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// The `GATEHOUSE_HOME` inside the folder.
    var home: GatehouseHome { GatehouseHome(path: root + "/home") }

    /// Deletes the folder and everything in it.
    func remove() {
        Self.removeTree(root)
    }

    private static func removeTree(_ path: String) {
        var stats = stat()
        guard lstat(path, &stats) == 0 else { return }
        if (stats.st_mode & S_IFMT) == S_IFDIR {
            if let directory = opendir(path) {
                var names: [String] = []
                while let entry = readdir(directory) {
                    let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                        String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
                    }
                    if name != "." && name != ".." { names.append(name) }
                }
                closedir(directory)
                for name in names { removeTree(path + "/" + name) }
            }
            rmdir(path)
        } else {
            unlink(path)
        }
    }
}
