import Foundation
import GatehouseCore
import GatehouseStore
import GatehouseTestSupport
import Testing

extension StoreTests {
    @Suite struct AtomicFileTests {
        @Test func writesMode0600AndLeavesNoTemporaryFile() async throws {
            try await withTemporaryDirectory { dir in
                let path = dir.path + "/sub/folder/data.json"
                try AtomicFile.write(Array("first\n".utf8), to: path)
                #expect(readBytes(path) == Array("first\n".utf8))
                #expect(FileIO.mode(of: path) == 0o600)
                // Replacing a file that someone widened gives 0600 again.
                chmod(path, 0o644)
                try AtomicFile.write(Array("second\n".utf8), to: path)
                #expect(readBytes(path) == Array("second\n".utf8))
                #expect(FileIO.mode(of: path) == 0o600)
                #expect(directoryNames(dir.path + "/sub/folder") == ["data.json"])
            }
        }

        /// The umask is per process, so it is set in a child (the store worker, which writes through
        /// `AtomicFile`) rather than in this test process, where other tests run at the same time.
        @Test(arguments: ["000", "022", "277"])
        func modeIs0600UnderAnyUmask(umask: String) async throws {
            try await withTemporaryDirectory { dir in
                let home = dir.home
                let agentDir = home.agentDirectory("main")
                // A umask that takes away the owner's write bit would also do so for new folders;
                // the folders exist already, so what is tested here is the data files' mode.
                try FileManager.default.createDirectory(atPath: agentDir, withIntermediateDirectories: true)
                let result = try await run(
                    "/bin/sh",
                    ["-c", "umask \(umask) && exec \"$0\" \"$@\"", productPath("gatehouse-store-worker"),
                     "--home", home.path, "--agent", "main", "--worker", "1", "--ops", "2"])
                #expect(result.status == 0, "\(result.stderr)")
                #expect(result.stdout.hasSuffix("done\n"))
                #expect(FileIO.mode(of: home.authProfilesPath("main")) == 0o600)
                #expect(FileIO.mode(of: home.authStatePath("main")) == 0o600)
                #expect(directoryNames(agentDir) == ["auth-profiles.json", "auth-state.json"])
            }
        }

        @Test func failedReplaceLeavesNoTemporaryFile() async throws {
            try await withTemporaryDirectory { dir in
                // The target is a folder: rename fails after the temporary file was written.
                let target = dir.path + "/target"
                try FileManager.default.createDirectory(atPath: target + "/inside", withIntermediateDirectories: true)
                let error = await storeError { try AtomicFile.write(Array("x".utf8), to: target) }
                #expect(error?.code == .io)
                #expect(error?.message.contains(target) == true)
                #expect(directoryNames(dir.path) == ["target"])
                #expect(directoryNames(target) == ["inside"])
            }
        }

        @Test func readersSeeOneWholeContentOrTheOther() async throws {
            try await withTemporaryDirectory { dir in
                let path = dir.path + "/data.json"
                // Large enough that a write in place would be seen half done.
                let a = Array(repeating: UInt8(ascii: "a"), count: 300_000)
                let b = Array(repeating: UInt8(ascii: "b"), count: 200_000) + Array("\n".utf8)
                try AtomicFile.write(a, to: path)
                let stop = SharedCounter()
                let reads = SharedCounter()
                let badReads = SharedCounter()
                let lastBadLength = SharedCounter()
                let finished = SharedCounter()
                // A thread of its own, so that it reads truly in parallel with the writes below.
                let reader = Thread {
                    while stop.value == 0 {
                        let bytes = try? FileIO.read(path)
                        if bytes != a && bytes != b {
                            badReads.add(1)
                            lastBadLength.set(bytes?.count ?? -1)
                        }
                        reads.add(1)
                    }
                    finished.add(1)
                }
                reader.start()
                while reads.value == 0 { try await Task.sleep(for: .milliseconds(1)) }
                let readsBefore = reads.value
                for i in 0..<200 {
                    try AtomicFile.write(i % 2 == 0 ? b : a, to: path)
                    // Keep the reader going between writes, so that it is reading while the next is made.
                    let seen = reads.value
                    let limit = ContinuousClock.now + .seconds(1)
                    while reads.value == seen && ContinuousClock.now < limit { await Task.yield() }
                }
                let readsDuring = reads.value - readsBefore
                stop.add(1)
                while finished.value == 0 { try await Task.sleep(for: .milliseconds(1)) }
                #expect(readsDuring >= 200, "the reader should have run while the file was being replaced")
                #expect(badReads.value == 0, "a reader saw \(badReads.value) inconsistent reads, such as one of \(lastBadLength.value) bytes")
                #expect(readBytes(path) == a)
                #expect(directoryNames(dir.path) == ["data.json"])
            }
        }
    }
}
