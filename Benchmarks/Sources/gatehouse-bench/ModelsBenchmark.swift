import AsyncHTTPClient
import GatehouseCore
import GatehouseStore
import Glibc
import NIOCore
import NIOHTTP1

/// `gatehouse-bench models`: model listing from the prepared views, on a fixture of P providers, M
/// models and A agents (default 40 x 1,000 x 10), each agent with two API keys for three providers in
/// four and some profiles cooling down.
///
/// 1. Cold builds through `ModelViewSource.build` (what the gateway runs at start and on every
///    event): one agent, and all agents one after another.
/// 2. The in-process lookup of a warm view (`ModelViewRegistry.entry` plus availability from the
///    agent's `HealthRecorder.allStats()`, exactly what `GET /v1/models` does before it renders), and
///    the rendering of the list.
/// 3. `GET /v1/models` over HTTP against a real `gatehouse gateway` on the fixture, one request at a
///    time, agents in turn.
/// 4. Edit to answer: an agent's `auth-profiles.json` is rewritten by this process (an outside
///    edit, as a person or script makes it) adding or removing a provider's key; the time until
///    `GET /v1/models` of that agent answers with the change.
struct ModelsBenchmark {
    struct Options {
        var providers = 40
        var models = 1000
        var agents = 10
        var iterations = 100_000
        var builds = 200
        var requests = 2000
        var edits = 20
        var gateway: String?
        var json = false

        static let usage =
            "usage: gatehouse-bench models [--providers 40] [--models 1000] [--agents 10] [--iterations 100000] [--builds 200] [--requests 2000] [--edits 20] [--gateway PATH] [--json]"

        init(arguments: [String]) throws {
            var rest = BenchArguments(arguments, usage: Self.usage)
            while let argument = rest.next() {
                switch argument {
                case "--providers": providers = try rest.count(argument, minimum: 4)
                case "--models": models = try rest.count(argument, minimum: 4)
                case "--agents": agents = try rest.count(argument, minimum: 2)
                case "--iterations": iterations = try rest.count(argument, minimum: 100)
                case "--builds": builds = try rest.count(argument, minimum: 10)
                case "--requests": requests = try rest.count(argument, minimum: 10)
                case "--edits": edits = try rest.count(argument, minimum: 2)
                case "--gateway":
                    gateway = try rest.path(argument)
                case "--json": json = true
                default: throw rest.unknown(argument)
                }
            }
        }
    }

    let options: Options
    let commandLine: String

    /// The providers the fixture adds to the built-in ones, to make `--providers` in all.
    var benchProviderIDs: [String] {
        (0..<max(1, options.providers - BuiltinProviders.all.count)).map { $0 < 10 ? "bench-0\($0)" : "bench-\($0)" }
    }
    /// Every provider id of the fixture, built-in and added, in order.
    var providerIDs: [String] { (Array(BuiltinProviders.all.keys) + benchProviderIDs).sorted() }
    var agentIDs: [String] { (0..<options.agents).map { "agent-\($0)" } }

    /// Whether the fixture gives `agent` keys for provider number `index`: three providers in four.
    func hasKeys(agent: Int, provider index: Int) -> Bool { (index + agent) % 4 != 0 }

    @MainActor
    func run() async throws -> (text: String, json: JSONValue) {
        let temporary = try TemporaryHome()
        defer { temporary.remove() }
        let home = temporary.home
        let facts = MachineFacts(directory: temporary.root)
        try writeFixture(home)
        let configuration = try ConfigurationFile.load(home, environment: [:])
        let providers = Array(configuration.resolvedProviders.values)
        let resolver = EnvironmentSecretResolver(environment: [:], baseDirectory: home.path)
        let totalModels = providers.reduce(0) { $0 + $1.models.count }

        // 1. Cold builds: the catalog's entries once per configuration, then each agent's view.
        let encoding = LatencySummary(HealthBenchmark.timeEach(max(10, options.builds / 10)) { _ = EncodedModelCatalog(providers: providers) })
        let catalog = EncodedModelCatalog(providers: providers)
        progress("1/4: cold builds, one agent x \(options.builds) and all \(options.agents) agents x \(options.builds / 10)")
        func build(_ agent: String) -> ModelViewSource.Built {
            ModelViewSource.build(
                agent: agent, generation: 1, home: home, catalog: catalog, environmentProfiles: [], resolver: resolver,
                now: WallClock.nowMillis())
        }
        for agent in agentIDs { _ = build(agent) }
        let oneAgent = LatencySummary(HealthBenchmark.timeEach(options.builds) { i in _ = build(agentIDs[i % agentIDs.count]) })
        let allAgents = LatencySummary(
            HealthBenchmark.timeEach(max(10, options.builds / 10)) { for agent in agentIDs { _ = build(agent) } })

        // 2. Warm lookups.
        progress("2/4: in-process lookup x \(options.iterations), render x \(options.iterations / 10)")
        let registry = ModelViewRegistry()
        var recorders: [HealthRecorder] = []
        var expectedModels: [Int] = []
        for agent in agentIDs {
            let built = build(agent)
            registry.publish(agent, generation: registry.beginBuild(), result: built.result, reason: .startup)
            let view = try built.result.get()
            expectedModels.append(view.providers.filter(\.hasAuth).reduce(0) { $0 + $1.models.count })
            let recorder = HealthRecorder(store: try AgentStore(home: home, agentID: agent), policy: CooldownPolicy())
            try recorder.load()
            recorders.append(recorder)
        }
        var checksum = 0
        let lookup = LatencySummary(
            HealthBenchmark.timeEach(options.iterations) { i in
                let index = i % agentIDs.count
                guard case .success(let view)? = registry.entry(for: agentIDs[index])?.result else { return }
                let availability = view.availability(stats: recorders[index].allStats(), now: WallClock.nowMillis())
                checksum &+= availability.count { !$0.base.available }
            })
        guard checksum > 0 else { throw BenchError("no provider was unavailable: the fixture's cooldowns are not seen") }
        var renderedBytes = 0
        let render = LatencySummary(
            HealthBenchmark.timeEach(max(100, options.iterations / 10)) { i in
                let index = i % agentIDs.count
                guard case .success(let view)? = registry.entry(for: agentIDs[index])?.result else { return }
                let availability = view.availability(stats: recorders[index].allStats(), now: WallClock.nowMillis())
                renderedBytes = view.listJSON(availability: availability, all: false).count
            })

        // 3 and 4: a real gateway.
        progress("3/4: GET /v1/models x \(options.requests) over HTTP")
        guard let executable = options.gateway ?? Self.defaultGateway(), access(executable, X_OK) == 0 else {
            throw BenchError("no gatehouse executable: build it with `swift build -c release --product gatehouse`, or pass --gateway PATH")
        }
        setenv("GATEHOUSE_LOG_LEVEL", "warning", 1)
        let gateway = try ChildProcess(
            executable: "/bin/sh", arguments: ["-c", "exec \"$0\" gateway --home \"$1\" --port 0 2>&1", executable, home.path])
        defer { _ = gateway.stop() }
        var baseURL: String?
        while let line = try gateway.readLine() {
            if let range = line.firstRange(of: "listening on ") {
                baseURL = String(line[range.upperBound...].prefix { $0 != " " })
                break
            }
        }
        guard let baseURL else { throw BenchError("the gateway did not start") }
        let token = String(String(decoding: try FileIO.read(home.gatewayTokenPath) ?? [], as: UTF8.self).split(whereSeparator: \.isWhitespace).first ?? "")
        let client = HTTPClient.shared
        func list(_ agent: String) async throws -> [UInt8] {
            var request = HTTPClientRequest(url: baseURL + "/v1/models")
            request.headers.add(name: "authorization", value: "Bearer \(token)")
            request.headers.add(name: "x-gatehouse-agent", value: agent)
            let response = try await client.execute(request, timeout: .seconds(10))
            let body = Array(try await response.body.collect(upTo: 64 << 20).readableBytesView)
            guard response.status == .ok else { throw BenchError("GET /v1/models: HTTP \(response.status.code)") }
            return body
        }
        for (index, agent) in agentIDs.enumerated() {
            let listed = try JSONValue.parse(try await list(agent))["data"]?.arrayValue?.count ?? -1
            guard listed == expectedModels[index] else {
                throw BenchError("the gateway lists \(listed) models for \(agent), the fixture gives it \(expectedModels[index])")
            }
        }
        var httpSamples: [UInt64] = []
        var httpBytes = 0
        for i in 0..<options.requests {
            let start = MonotonicTime.now()
            httpBytes = try await list(agentIDs[i % agentIDs.count]).count
            httpSamples.append(MonotonicTime.now() - start)
        }
        let http = LatencySummary(httpSamples)

        // 4. Edit to answer.
        progress("4/4: \(options.edits) outside edits of auth-profiles.json, each until the gateway answers with it")
        let agentIndex = 3 % options.agents
        let agent = agentIDs[agentIndex]
        let toggled = providerIDs.indices.first { !hasKeys(agent: agentIndex, provider: $0) && providerIDs[$0].hasPrefix("bench-") }!
        let marker = Array("\"id\":\"\(providerIDs[toggled])/".utf8)
        var editSamples: [UInt64] = []
        for edit in 0..<options.edits {
            let adding = edit % 2 == 0
            let text = profilesJSON(agent: agentIndex, extra: adding ? toggled : nil)
            let start = MonotonicTime.now()
            try Self.writeInPlace(text, to: home.authProfilesPath(agent))
            while true {
                let body = try await list(agent)
                if Self.contains(body, marker) == adding { break }
                if MonotonicTime.now() - start > 10_000_000_000 { throw BenchError("edit \(edit) was not seen within 10 s") }
            }
            editSamples.append(MonotonicTime.now() - start)
            try await Task.sleep(for: .milliseconds(50))
        }
        let edits = LatencySummary(editSamples)
        let loadAtEnd = MachineFacts.loadAverage()

        typealias F = NumberFormat
        func row(_ name: String, _ s: LatencySummary, target: String) -> String {
            "| \(name) | \(s.count) | \(F.microseconds(Double(s.p50))) | \(F.microseconds(Double(s.p99))) | \(F.microseconds(Double(s.max))) | \(target) |"
        }
        let text = """
            gatehouse-bench models, \(facts.date)
            command:  \(commandLine)
            machine:  \(facts.processors) CPUs (nproc), \(facts.cpuModel), \(facts.kernel)
            load:     1-minute load average \(F.fixed(facts.loadAtStart, decimals: 2)) at start, \(F.fixed(loadAtEnd, decimals: 2)) at end
            fixture:  \(providers.count) providers, \(totalModels) models, \(options.agents) agents; each agent has 2 keys for 3 providers in 4, some cooling down
            list:     \(renderedBytes) bytes rendered in process, \(httpBytes) bytes over HTTP (one agent)

            | operation | count | p50 µs | p99 µs | max µs | target |
            |---|---|---|---|---|---|
            \(row("in-process lookup (view + availability)", lookup, target: "p99 < 50 µs"))
            \(row("render the list (in process)", render, target: "-"))
            \(row("encode the catalog (once per configuration)", encoding, target: "-"))
            \(row("cold build, one agent", oneAgent, target: "< 5 ms"))
            \(row("cold build, all \(options.agents) agents", allAgents, target: "-"))
            \(row("GET /v1/models over HTTP, warm", http, target: "-"))
            \(row("outside edit to new answer", edits, target: "< 1 s"))
            """
        func summary(_ s: LatencySummary) -> JSONValue {
            ["count": .int(Int64(s.count)), "p50Micros": .double(F.microsecondsValue(Double(s.p50))),
             "p99Micros": .double(F.microsecondsValue(Double(s.p99))), "maxMicros": .double(F.microsecondsValue(Double(s.max)))]
        }
        let json: JSONValue = [
            "benchmark": "models", "date": .string(facts.date), "command": .string(commandLine),
            "machine": facts.json(loadAtEnd: loadAtEnd),
            "fixture": ["providers": .int(Int64(providers.count)), "models": .int(Int64(totalModels)), "agents": .int(Int64(options.agents))],
            "catalogEncoding": summary(encoding), "lookup": summary(lookup), "render": summary(render), "coldBuildOneAgent": summary(oneAgent),
            "coldBuildAllAgents": summary(allAgents), "http": summary(http), "editToAnswer": summary(edits),
            "targetsMet": .bool(lookup.p99 < 50_000 && oneAgent.p50 < 5_000_000 && edits.max < 1_000_000_000),
        ]
        return (text, json)
    }

    /// `<root>/.build/release/gatehouse`, found from this executable's path.
    @MainActor static func defaultGateway() -> String? {
        MockUpstreamProcess.defaultExecutable().map { String($0.dropLast("-mock-upstream".count)) }
    }

    // MARK: Fixture

    func writeFixture(_ home: GatehouseHome) throws {
        try home.create()
        // The built-in catalog's models count toward --models; the added providers share the rest.
        let added = max(benchProviderIDs.count, options.models - BuiltinProviders.all.values.reduce(0) { $0 + $1.models.count })
        let perProvider = added / benchProviderIDs.count
        var providers: [String: JSONValue] = [:]
        for (index, id) in benchProviderIDs.enumerated() {
            let count = index == benchProviderIDs.count - 1 ? added - perProvider * (benchProviderIDs.count - 1) : perProvider
            providers[id] = [
                "api": index % 3 == 0 ? "anthropic-messages" : "openai-chat", "baseUrl": .string("https://\(id).example.test/v1"),
                "auth": index % 3 == 0 ? "x-api-key" : "bearer",
                "models": .array((0..<count).map { m in
                    ["id": .string("\(id)-model-\(m)"), "name": .string("Bench \(index) model \(m)"), "contextWindow": .int(Int64(8192 * (m % 16 + 1)))]
                }),
            ]
        }
        let agents: [JSONValue] = agentIDs.enumerated().map { index, id in index == 0 ? ["id": .string(id), "default": true] : ["id": .string(id)] }
        try AtomicFile.write(JSONValue.object(["providers": .object(providers), "agents": .array(agents)]).serialized(), to: home.configurationPath)
        let now = WallClock.nowMillis()
        for (index, agent) in agentIDs.enumerated() {
            try AtomicFile.write(Array(profilesJSON(agent: index, extra: nil).utf8), to: home.authProfilesPath(agent))
            // Every provider in five has both keys cooling down, one model of another is cooling.
            var stats: [String: JSONValue] = [:]
            for (p, provider) in providerIDs.enumerated() where hasKeys(agent: index, provider: p) {
                if p % 5 == 0 {
                    for key in ["a", "b"] {
                        stats["\(provider):\(key)"] = ["cooldownUntil": .int(now + 3_600_000), "cooldownReason": "rate_limit", "errorCount": 1]
                    }
                } else if p % 5 == 1 {
                    stats["\(provider):a"] = [
                        "cooldownUntil": .int(now + 3_600_000), "cooldownReason": "rate_limit", "cooldownModel": .string("\(provider)-model-0"),
                    ]
                }
            }
            try AtomicFile.write(JSONValue.object(["version": 1, "usageStats": .object(stats)]).serialized(), to: home.authStatePath(agent))
        }
    }

    /// The fixture's credential file of agent number `agent`, plus keys for provider number `extra`.
    func profilesJSON(agent: Int, extra: Int?) -> String {
        var profiles: [String: JSONValue] = [:]
        for (p, provider) in providerIDs.enumerated() where hasKeys(agent: agent, provider: p) || p == extra {
            for key in ["a", "b"] {
                profiles["\(provider):\(key)"] = ["type": "api_key", "provider": .string(provider), "key": .string("sk-\(provider)-\(key)-\(agent)")]
            }
        }
        return JSONValue.object(["version": 1, "profiles": .object(profiles)]).serializedString()
    }

    /// Writes `text` over `path` in place (open, truncate, write, close), as an editor or script may.
    static func writeInPlace(_ text: String, to path: String) throws {
        let fd = open(path, O_WRONLY | O_TRUNC | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw BenchError("cannot open \(path): \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        let bytes = Array(text.utf8)
        let written = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        guard written == bytes.count else { throw BenchError("cannot write \(path)") }
    }

    static func contains(_ haystack: [UInt8], _ needle: [UInt8]) -> Bool {
        guard needle.count <= haystack.count else { return false }
        return haystack.withUnsafeBufferPointer { h in
            (0...(h.count - needle.count)).contains { i in needle.indices.allSatisfy { h[i + $0] == needle[$0] } }
        }
    }
}
