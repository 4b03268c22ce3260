import ArgumentParser
import GatehouseCore
import GatehouseStore
import Glibc

/// `gatehouse doctor`.
struct DoctorCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "doctor",
        abstract: "Check the state folder: files parse, permissions, locks and their holders, references.",
        discussion: """
            Reads only; changes nothing. Exits 1 when something is wrong (an error), 0 otherwise; \
            warnings (a stale lock that the next write reclaims, a left-over temporary file) do not fail.
            """
    )

    @OptionGroup var global: GlobalOptions

    struct Finding {
        enum Severity: String { case ok, info, warning, error }
        var severity: Severity
        var subject: String
        var message: String

        var json: JSONValue {
            ["severity": .string(severity.rawValue), "subject": .string(subject), "message": .string(message)]
        }
    }

    func run() async throws {
        let environment = CommandContext.processEnvironment()
        let home = GatehouseHome.resolve(flag: global.home, environment: environment)
        var findings: [Finding] = []
        func add(_ severity: Finding.Severity, _ subject: String, _ message: String) {
            findings.append(Finding(severity: severity, subject: subject, message: message))
        }

        var configuration = GatehouseConfiguration()
        if !FileIO.exists(home.path) {
            add(.info, home.path, "does not exist yet; it is created by the first command that stores something")
        } else {
            checkMode(home.path, expected: 0o700, into: &findings)
            if FileIO.exists(home.configurationPath) {
                do {
                    configuration = try ConfigurationFile.load(home, environment: environment)
                    add(.ok, home.configurationPath, "parses; \(configuration.agents.count) agent(s), default '\(configuration.defaultAgentID)'")
                } catch {
                    add(.error, home.configurationPath, error.description)
                }
                checkMode(home.configurationPath, expected: 0o600, into: &findings)
            } else {
                add(.info, home.configurationPath, "absent; defaults apply (agent 'main')")
            }
            if FileIO.exists(home.gatewayTokenPath) {
                checkMode(home.gatewayTokenPath, expected: 0o600, into: &findings)
            }
        }

        let resolver = EnvironmentSecretResolver(environment: environment, baseDirectory: home.path)
        let agents = Array(Set(configuration.agents.map(\.id)).union(home.agentIDsOnDisk())).sorted()
        let now = WallClock.nowMillis()
        for agent in agents {
            guard let store = try? AgentStore(home: home, agentID: agent) else { continue }
            let agentRoot = "\(home.agentsPath)/\(agent)"
            guard FileIO.exists(agentRoot) else {
                add(.info, "agent \(agent)", "no files yet")
                continue
            }
            checkMode(agentRoot, expected: 0o700, into: &findings)
            checkMode(home.agentDirectory(agent), expected: 0o700, into: &findings)
            if FileIO.exists(store.profiles.path) {
                checkMode(store.profiles.path, expected: 0o600, into: &findings)
                do {
                    let document = try store.profiles.read()
                    add(.ok, store.profiles.path, "parses; \(document.profiles.count) profile(s)")
                    for entry in document.invalidEntries.values.sorted(by: { $0.key < $1.key }) {
                        add(.error, store.profiles.path, "entry \(entry.key) cannot be used (kept in the file): \(entry.problem)")
                    }
                    for profile in document.sortedProfiles {
                        if case .unresolved(let ref) = profile.secret(using: resolver) {
                            add(.error, profile.id.description, "\(ref) does not resolve (agent \(agent))")
                        } else if profile.credentialState(now: now, using: resolver) == .missingCredential {
                            add(.error, profile.id.description, "has no secret (agent \(agent))")
                        }
                    }
                } catch {
                    add(.error, store.profiles.path, error.description)
                }
            }
            if FileIO.exists(store.state.path) {
                checkMode(store.state.path, expected: 0o600, into: &findings)
                do {
                    _ = try store.state.read()
                    add(.ok, store.state.path, "parses")
                } catch {
                    add(.error, store.state.path, error.description)
                }
            }
            for path in [store.profiles.path, store.state.path, home.sessionsPath(agent)] {
                inspectLocks(of: path, into: &findings)
            }
            for directory in [home.agentDirectory(agent), FileIO.parentDirectory(of: home.sessionsPath(agent))] {
                for name in FileIO.directoryEntries( directory) where name.hasSuffix(".tmp") {
                    add(.warning, directory + "/" + name, "a left-over temporary file from an interrupted write; safe to delete")
                }
            }
        }
        for name in FileIO.directoryEntries( home.locksPath + "/oauth-refresh") where name.hasSuffix(".lock") {
            inspectSidecar(home.locksPath + "/oauth-refresh/" + name, into: &findings)
        }

        let failed = findings.contains { $0.severity == .error }
        if global.json {
            Output.printJSON([
                "ok": .bool(!failed), "home": .string(home.path), "findings": .array(findings.map(\.json)),
            ])
        } else {
            for finding in findings {
                let tag = ["ok": "ok   ", "info": "info ", "warning": "warn ", "error": "ERROR"][finding.severity.rawValue]!
                print("\(tag) \(finding.subject): \(finding.message)")
            }
            print(failed ? "Problems found." : "No problems found.")
        }
        if failed { throw ExitCode(1) }
    }

    private func checkMode(_ path: String, expected: mode_t, into findings: inout [Finding]) {
        guard let mode = FileIO.mode(of: path) else { return }
        if mode & ~expected != 0 {
            findings.append(Finding(
                severity: .error, subject: path,
                message: "mode \(String(mode, radix: 8)) is wider than \(String(expected, radix: 8)); others may read it. Fix: chmod \(String(expected, radix: 8)) \(path)"))
        }
    }

    private func inspectLocks(of dataFile: String, into findings: inout [Finding]) {
        let sidecar = dataFile + ".lock"
        if FileIO.exists(sidecar) { inspectSidecar(sidecar, into: &findings) }
        for lock in LockInspector.kernelLocks(on: dataFile) {
            findings.append(Finding(severity: .info, subject: dataFile, message: "is locked now: \(lock)"))
        }
    }

    private func inspectSidecar(_ sidecar: String, into findings: inout [Finding]) {
        let report = LockInspector.inspect(sidecar: sidecar)
        findings.append(Finding(severity: report.isStale ? .warning : .info, subject: sidecar, message: report.summary))
    }
}
