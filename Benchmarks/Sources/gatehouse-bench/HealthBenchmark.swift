import GatehouseCore
import GatehouseStore
import Glibc

/// `gatehouse-bench health`: what profile health costs on the request path, through the real APIs.
///
/// 1. `CandidatePlanner.plan` for one provider with a realistic mix of profiles (`HealthScenario`),
///    each call timed on its own, then the whole batch timed as one loop (its mean shows how little
///    the per-call clock reads add).
/// 2. `HealthRecorder.markUsed`, `markGood` and `markFailure` on a recorder over a fresh temporary
///    `GATEHOUSE_HOME`, each call timed; that they made no file system call is shown by
///    `/proc/self/io` and by `auth-state.json` not existing (after `markUsed` and `markGood`) or being
///    unchanged (after `markFailure`); then one `flush()` after each, timed.
///
/// Everything runs in this process, one call after another: nothing else competes with it but the
/// machine's other work.
struct HealthBenchmark {
    /// The command-line options of `gatehouse-bench health`.
    struct Options {
        /// Profiles of the planned provider.
        var profiles = 20
        /// Calls per measured operation.
        var iterations = 100_000
        /// Print JSON instead of the text table.
        var json = false

        static let usage = "usage: gatehouse-bench health [--profiles 20] [--iterations 100000] [--json]"

        init(arguments: [String]) throws {
            var rest = BenchArguments(arguments, usage: Self.usage)
            while let argument = rest.next() {
                switch argument {
                case "--profiles": profiles = try rest.count(argument, minimum: 4)
                case "--iterations": iterations = try rest.count(argument, minimum: 100)
                case "--json": json = true
                default: throw rest.unknown(argument)
                }
            }
        }
    }

    let options: Options
    /// The command line as typed, for the report.
    let commandLine: String

    /// Calls made before each measurement and not counted (caches, lazy initialisation, page faults).
    static let warmUp = 1_000

    /// Runs every measurement and returns the report; the temporary home is removed whatever happens.
    func run() async throws -> HealthReport {
        let temporary = try TemporaryHome()
        defer { temporary.remove() }
        let home = temporary.home
        try home.create()
        let facts = MachineFacts(directory: temporary.root)
        let n = options.iterations

        progress("clock: \(n) empty timed regions")
        let clock = LatencySummary(Self.timeEach(n) {})

        // 1. The planner.
        let scenario = try HealthScenario(profiles: options.profiles, now: WallClock.nowMillis())
        let input = scenario.input
        let resolver = scenario.resolver
        let plan = CandidatePlanner.plan(input, using: resolver)
        var checksum = 0
        progress("1/5: CandidatePlanner.plan x \(n), each timed")
        _ = Self.timeEach(Self.warmUp) { checksum &+= CandidatePlanner.plan(input, using: resolver).candidates.count }
        let planEach = LatencySummary(Self.timeEach(n) { checksum &+= CandidatePlanner.plan(input, using: resolver).candidates.count })
        progress("2/5: CandidatePlanner.plan x \(n), one timed loop")
        let loopStart = MonotonicTime.now()
        for _ in 0..<n { checksum &+= CandidatePlanner.plan(input, using: resolver).candidates.count }
        let loopNanos = MonotonicTime.now() - loopStart
        guard checksum == (Self.warmUp + 2 * n) * plan.candidates.count else {
            throw BenchError("the planner did not give the same plan on every call (checksum \(checksum))")
        }

        // 2. The recorder, on a home of its own.
        let store = try AgentStore(home: home, agentID: "main")
        let recorder = HealthRecorder(store: store, policy: CooldownPolicy())
        try recorder.load()
        let ids = scenario.profileIDs
        let model = HealthScenario.model
        let stateFile = store.state.path
        let agentFolder = home.agentDirectory("main")
        let ioOverhead = ProcessIO.overhead()

        progress("3/5: HealthRecorder.markUsed x \(n), then markGood x \(n)")
        for i in 0..<Self.warmUp { recorder.markUsed(ids[i % ids.count]) }
        let beforeMarks = ProcessIO.snapshot()
        let markUsed = LatencySummary(Self.timeEach(n) { i in recorder.markUsed(ids[i % ids.count]) })
        let markGood = LatencySummary(Self.timeEach(n) { i in recorder.markGood(ids[i % ids.count], model: model) })
        let afterMarks = ProcessIO.snapshot()
        let marksDisk = HealthReport.DiskCheck(
            calls: 2 * n, io: ProcessIO.difference(beforeMarks, afterMarks, overhead: ioOverhead),
            stateFile: FileIdentity(path: stateFile), agentFolderExists: FileIO.exists(agentFolder),
            lockSidecarExists: FileIO.exists(stateFile + ".lock"), stateFileBefore: nil)

        progress("4/5: flush() of \(ids.count) profiles' lastUsed and successes")
        let firstFlush = try await Self.timedFlush(recorder, store: store, ids: ids)

        progress("5/5: HealthRecorder.markFailure x \(n), then flush()")
        // The gateway's mix after an upstream incident: mostly failures inside a window that is already
        // open (parallel requests fail together), each profile's first one opening it, some widening
        // a model's cooldown, a disable, and a format error (the request's own fault: ignored).
        let reasons: [FailureReason] = [.rateLimit, .rateLimit, .overloaded, .timeout, .format, .rateLimit, .auth, .rateLimit]
        let classifications = reasons.map { FailureClassification(reason: $0) }
        let fingerprints = ids.map { id in input.profiles.first { $0.id == id }?.fingerprint(using: resolver) }
        var effectCodes = [UInt8](repeating: 0, count: n)
        let fileBefore = FileIdentity(path: stateFile)
        let beforeFailures = ProcessIO.snapshot()
        let markFailure = LatencySummary(
            Self.timeEach(n) { i in
                let profile = i % ids.count
                let effect = recorder.markFailure(
                    ids[profile], model: model, classification: classifications[(i / ids.count) % classifications.count],
                    credentialFingerprint: fingerprints[profile])
                switch effect {
                case .ignored: effectCodes[i] = 0
                case .insideWindow: effectCodes[i] = 1
                case .windowStarted: effectCodes[i] = 2
                case .widened: effectCodes[i] = 3
                }
            })
        let afterFailures = ProcessIO.snapshot()
        let failuresDisk = HealthReport.DiskCheck(
            calls: n, io: ProcessIO.difference(beforeFailures, afterFailures, overhead: ioOverhead),
            stateFile: FileIdentity(path: stateFile), agentFolderExists: FileIO.exists(agentFolder),
            lockSidecarExists: FileIO.exists(stateFile + ".lock"), stateFileBefore: fileBefore)
        let secondFlush = try await Self.timedFlush(recorder, store: store, ids: ids)
        var effects: [String: Int] = [:]
        for (code, name) in ["ignored", "insideWindow", "windowStarted", "widened"].enumerated() {
            effects[name] = effectCodes.lazy.filter { $0 == code }.count
        }

        return HealthReport(
            commandLine: commandLine, facts: facts, homePath: home.path, loadAtEnd: MachineFacts.loadAverage(),
            options: options, scenario: scenario, plan: plan, clock: clock, planEach: planEach, planLoopNanos: loopNanos,
            markUsed: markUsed, markGood: markGood, markFailure: markFailure, failureEffects: effects,
            marksDisk: marksDisk, failuresDisk: failuresDisk, firstFlush: firstFlush, secondFlush: secondFlush)
    }

    /// Runs `body` `count` times and times each call on its own with `MonotonicTime`.
    @inline(__always)
    static func timeEach(_ count: Int, _ body: (Int) -> Void) -> [UInt64] {
        var samples = [UInt64](repeating: 0, count: count)
        for i in 0..<count {
            let start = MonotonicTime.now()
            body(i)
            samples[i] = MonotonicTime.now() - start
        }
        return samples
    }

    @inline(__always)
    static func timeEach(_ count: Int, _ body: () -> Void) -> [UInt64] {
        timeEach(count) { (_: Int) in body() }
    }

    /// One `flush()`, timed, and what it left in `auth-state.json`.
    private static func timedFlush(_ recorder: HealthRecorder, store: AgentStore, ids: [ProfileID]) async throws -> HealthReport.Flush {
        let start = MonotonicTime.now()
        try await recorder.flush()
        let nanos = MonotonicTime.now() - start
        let document = try store.state.read()
        let memory = recorder.allStats()
        let matching = ids.filter { id in document.stats(for: id) == (memory[id] ?? UsageStats()) }.count
        return HealthReport.Flush(
            nanos: nanos, fileBytes: FileIdentity(path: store.state.path)?.size ?? 0, profilesInFile: document.usageStats.count,
            profilesMatchingMemory: matching, profiles: ids.count)
    }

    /// A line on standard error, so a long run shows where it is (and `--json` output stays clean).
}
