import Foundation
import GatehouseCore
import GatehouseTestSupport
import Logging
import Synchronization
import Testing

@testable import GatehouseStore

extension StoreTests {
    /// The inotify watcher against real files: atomic saves, in-place writes, deletes and re-creates,
    /// folders that appear later, other files in the same folder, and a restart after an error.
    @Suite("file watcher", .serialized)
    struct FileWatcherTests {
        /// What the watcher reported, in order.
        final class Reports: Sendable {
            private let paths = Mutex<[String]>([])
            func add(_ batch: [String]) { paths.withLock { $0.append(contentsOf: batch) } }
            func count(_ path: String) -> Int { paths.withLock { $0.count { $0 == path } } }
            var all: [String] { paths.withLock { $0 } }
        }

        /// Runs a watcher of `files` while `body` runs.
        func watching(_ files: [String], _ body: (FileWatcher, Reports) async throws -> Void) async throws {
            let watcher = FileWatcher(files: files, logger: Logger(label: "test"), restartDelay: .milliseconds(50))
            let reports = Reports()
            let task = Task { await watcher.run { reports.add($0) } }
            defer { task.cancel() }
            try await body(watcher, reports)
            task.cancel()
            await task.value
        }

        /// Waits until `path` has been reported more than `count` times.
        func reported(_ reports: Reports, _ path: String, moreThan count: Int) async -> Bool {
            await eventually(timeout: .seconds(3)) { reports.count(path) > count }
        }

        @Test("Atomic saves, in-place writes, delete and re-create, a folder that appears later; other files ignored")
        func changes() async throws {
            try await withTemporaryDirectory { dir in
                let home = dir.home
                try home.create()
                let config = home.configurationPath
                let profiles = home.authProfilesPath("main")
                try await watching([config, profiles]) { watcher, reports in
                    // Every file is reported once when the watcher starts.
                    #expect(await reported(reports, config, moreThan: 0))
                    #expect(await reported(reports, profiles, moreThan: 0))
                    #expect(watcher.sessions == 1)

                    // An atomic save (temp file renamed over the target).
                    var before = reports.count(config)
                    try AtomicFile.write(Array("{}".utf8), to: config)
                    #expect(await reported(reports, config, moreThan: before), "atomic save of gatehouse.json")

                    // The agent's folder does not exist yet: creating it, then the file, is seen.
                    before = reports.count(profiles)
                    try FileIO.makeDirectories(home.agentDirectory("main"))
                    #expect(await reported(reports, profiles, moreThan: before), "the folder appeared")
                    before = reports.count(profiles)
                    try writeText(#"{"version":1,"profiles":{}}"#, to: profiles)
                    #expect(await reported(reports, profiles, moreThan: before), "in-place write of a new file")

                    // Other files in the watched folder are never reported.
                    try AtomicFile.write(Array("{}".utf8), to: home.authStatePath("main"))
                    try writeText("x", to: home.agentDirectory("main") + "/notes.txt")

                    // Delete, then create again.
                    before = reports.count(profiles)
                    #expect(unlink(profiles) == 0)
                    #expect(await reported(reports, profiles, moreThan: before), "deleted")
                    before = reports.count(profiles)
                    try AtomicFile.write(Array("{}".utf8), to: profiles)
                    #expect(await reported(reports, profiles, moreThan: before), "created again")

                    // The whole agent folder goes and comes back.
                    before = reports.count(profiles)
                    try FileManager.default.removeItem(atPath: home.agentsPath)
                    #expect(await reported(reports, profiles, moreThan: before), "folder removed")
                    try FileIO.makeDirectories(home.agentDirectory("main"))
                    before = reports.count(profiles)
                    try AtomicFile.write(Array("{}".utf8), to: profiles)
                    #expect(await reported(reports, profiles, moreThan: before), "folder and file created again")

                    try await Task.sleep(for: .milliseconds(100))
                    #expect(Set(reports.all).isSubset(of: [config, profiles]), "\(Set(reports.all))")
                }
            }
        }

        @Test("A watcher error is logged and the watcher starts over, then sees changes again")
        func restartsAfterError() async throws {
            try await withTemporaryDirectory { dir in
                let home = dir.home
                try home.create()
                let config = home.configurationPath
                try await watching([config]) { watcher, reports in
                    #expect(await reported(reports, config, moreThan: 0))
                    let failures = Mutex(1)
                    watcher.beforeWait.withLock {
                        $0 = {
                            let fail = failures.withLock { remaining -> Bool in
                                defer { remaining = max(0, remaining - 1) }
                                return remaining > 0
                            }
                            if fail { throw FileWatcher.Failure(description: "injected read failure") }
                        }
                    }
                    // Wake the running wait so the next one fails.
                    watcher.watch([config])
                    #expect(await eventually(timeout: .seconds(3)) { watcher.sessions == 2 }, "restarted once")
                    let before = reports.count(config)
                    try AtomicFile.write(Array(#"{"agents":[]}"#.utf8), to: config)
                    #expect(await reported(reports, config, moreThan: before), "sees changes after the restart")
                }
            }
        }

        @Test("Changing the watched files re-arms the running watcher")
        func retarget() async throws {
            try await withTemporaryDirectory { dir in
                let home = dir.home
                try home.create()
                let first = home.authProfilesPath("main")
                let second = home.authProfilesPath("helper")
                try await watching([first]) { watcher, reports in
                    #expect(await reported(reports, first, moreThan: 0))
                    watcher.watch([first, second])
                    #expect(await reported(reports, second, moreThan: 0))
                    let before = reports.count(second)
                    try AtomicFile.write(Array("{}".utf8), to: second)
                    #expect(await reported(reports, second, moreThan: before))
                }
            }
        }
    }
}
