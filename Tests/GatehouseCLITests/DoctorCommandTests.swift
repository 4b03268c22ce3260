import Foundation
import GatehouseCore
import GatehouseStore
import GatehouseTestSupport
import Testing

/// `gatehouse doctor` on healthy and damaged homes.
@Suite("gatehouse doctor")
struct DoctorCommandTests {
    private func doctor(_ dir: TemporaryDirectory) async throws -> (ProcessResult, [JSONValue]) {
        let result = try await gatehouse(home: dir.home.path, ["doctor", "--json"])
        let json = try JSONValue.parse(result.stdout)
        return (result, json["findings"]?.arrayValue ?? [])
    }

    private func errors(_ findings: [JSONValue]) -> [String] {
        findings.filter { $0["severity"] == "error" }.compactMap { $0["message"]?.stringValue }
    }

    @Test("a fresh home and a healthy home pass")
    func healthy() async throws {
        try await withTemporaryDirectory { dir in
            var (result, findings) = try await doctor(dir)
            #expect(result.status == 0)
            #expect(!FileManager.default.fileExists(atPath: dir.home.path), "doctor must not create anything")
            _ = try await gatehouse(home: dir.home.path, ["auth", "add", "anthropic", "--api-key-stdin"], stdin: "k1")
            (result, findings) = try await doctor(dir)
            #expect(result.status == 0, "\(findings)")
            #expect(errors(findings).isEmpty)
            let text = try await gatehouse(home: dir.home.path, ["doctor"])
            #expect(text.stdout.contains("No problems found."))
        }
    }

    @Test("reports wide permissions, bad files, invalid entries, unresolved refs and a stale lock, and exits 1")
    func damaged() async throws {
        try await withTemporaryDirectory { dir in
            let home = dir.home
            _ = try await gatehouse(home: home.path, ["auth", "add", "anthropic", "--api-key-env", "GH_DOCTOR_UNSET"])
            let profiles = home.authProfilesPath("main")
            chmod(profiles, 0o644)
            try "{\n  \"version\": 1,\n  \"order\": [\n}".write(toFile: home.authStatePath("main"), atomically: true, encoding: .utf8)
            try #"{"pid":999999,"createdAt":"2026-01-01T00:00:00Z","startTime":1,"host":"elsewhere","owner":"gatehouse"}"#
                .write(toFile: profiles + ".lock", atomically: true, encoding: .utf8)
            try "{\"agents\":[{\"id\":\"main\"}], \"gatway\": {}}".write(toFile: home.configurationPath, atomically: true, encoding: .utf8)

            let (result, findings) = try await doctor(dir)
            #expect(result.status == 1)
            let messages = errors(findings)
            #expect(messages.contains { $0.contains("mode 644 is wider than 600") })
            #expect(messages.contains { $0.contains("gatway") && $0.contains("unknown key") })
            #expect(messages.contains { $0.contains("auth-state.json: line 4, column 1") })
            #expect(messages.contains { $0.contains("env:GH_DOCTOR_UNSET does not resolve") })
            let lock = findings.first { $0["subject"]?.stringValue == profiles + ".lock" }
            #expect(lock?["severity"] == "warning")
            #expect(lock?["message"]?.stringValue?.contains("stale") == true)
            // Doctor changes nothing.
            #expect(FileManager.default.fileExists(atPath: profiles + ".lock"))
        }
    }

    @Test("names the holder of a live lock on a data file")
    func liveHolder() async throws {
        try await withTemporaryDirectory { dir in
            _ = try await gatehouse(home: dir.home.path, ["auth", "add", "anthropic", "--api-key-stdin"], stdin: "k1")
            let path = dir.home.authProfilesPath("main")
            let script = "import fcntl,sys,time\nf=open(sys.argv[1],'r+')\nfcntl.flock(f,fcntl.LOCK_EX)\nprint('held',flush=True)\ntime.sleep(30)\n"
            let holder = try ChildProcess("/usr/bin/env", ["python3", "-c", script, path])
            defer { holder.signal(SIGKILL) }
            for _ in 0..<100 where !holder.stdoutSoFar.contains("held") { try await Task.sleep(for: .milliseconds(50)) }
            #expect(holder.stdoutSoFar.contains("held"))
            let (result, findings) = try await doctor(dir)
            #expect(result.status == 0)
            let lock = findings.first { $0["message"]?.stringValue?.contains("is locked now") == true }
            #expect(lock?["message"]?.stringValue?.contains("pid \(holder.pid)") == true, "\(findings)")
        }
    }
}
