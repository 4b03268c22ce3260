import ArgumentParser
import GatehouseCore
import GatehouseStore

/// `gatehouse auth status`.
struct AuthStatus: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "Show the order profiles are tried in right now, and which one the next request uses and why.",
        discussion: """
            Run this when "it used the wrong key". For each profile: whether it is eligible (its \
            credential is present and resolves), its window (cooldown or disable: reason, scope, end), \
            when it was last used. Profiles usable now come first in the base order; those in a window \
            follow, soonest end first; a session's pin goes in front when usable.
            """
    )

    @OptionGroup var global: GlobalOptions

    @Argument(help: "Only this provider (default: every provider the agent has profiles for).")
    var provider: String?

    @Option(name: .long, help: "The model of the request (windows may cover one model only).")
    var model: String?

    @Option(name: .long, help: "The session of the request (its pin counts).")
    var session: String?

    func run() async throws {
        let context = try CommandContext(global)
        let snapshot = try SelectionSnapshot(context)
        let now = WallClock.nowMillis()
        var pin: SessionPin?
        if let session {
            if let problem = SessionStore.problem(withKey: session) { throw ValidationError(problem) }
            pin = try SessionStore(home: context.home, agentID: context.agentID).entry(session)?.pin
        }
        let providers = provider.map { [$0] } ?? snapshot.providers
        var reports: [JSONValue] = []
        var text = ""
        for provider in providers {
            let plan = snapshot.plan(provider: provider, model: model, session: pin, hasSession: session != nil, now: now)
            reports.append(Self.json(plan, provider: provider, model: model, session: session, pin: pin))
            text += Self.text(plan, provider: provider, model: model, session: session, pin: pin)
        }
        if context.options.json {
            Output.printJSON(["agent": .string(context.agentID), "providers": .array(reports)])
        } else if providers.isEmpty {
            print("No profiles for agent '\(context.agentID)'. Add one with: gatehouse auth add <provider> --api-key-stdin")
        } else {
            print(text, terminator: "")
        }
    }

    static func decisionJSON(_ decision: CandidatePlan.Decision) -> JSONValue {
        switch decision {
        case .use(let id, let why):
            return ["action": "use", "profile": .string(id.description), "why": .string(why)]
        case .probe(let id, let why):
            return ["action": "probe", "profile": .string(id.description), "why": .string(why)]
        case .allUnavailable(let all):
            return [
                "action": "unavailable", "status": .int(Int64(all.status)), "retryAt": Output.jsonTime(all.retryAt),
                "profiles": .array(all.entries.map { ["id": .string($0.0.description), "window": $0.1?.json ?? .null] }),
            ]
        }
    }

    static func json(_ plan: CandidatePlan, provider: String, model: String?, session: String?, pin: SessionPin?) -> JSONValue {
        func entry(_ e: CandidatePlan.Entry) -> JSONValue {
            [
                "id": .string(e.profile.id.description), "type": .string(e.profile.type.rawValue),
                "eligible": .bool(e.isEligible), "credentialState": .string(e.credentialState.rawValue),
                "usableNow": .bool(e.isUsableNow), "window": e.window?.json ?? .null,
                "awaitingProbe": .bool(e.awaitingProbe), "lastUsed": Output.jsonTime(e.lastUsed),
            ]
        }
        var pinJSON: JSONValue = .null
        if let pin {
            pinJSON = ["profile": .string(pin.profile), "source": .string(pin.source.rawValue), "setAt": Output.jsonTime(pin.setAt)]
        }
        return [
            "provider": .string(provider), "model": model.map(JSONValue.string) ?? .null,
            "session": session.map(JSONValue.string) ?? .null, "pin": pinJSON,
            "orderSource": .string(plan.orderSource.rawValue), "next": decisionJSON(plan.decision),
            "candidates": .array(plan.candidates.map(entry)), "ineligible": .array(plan.ineligible.map(entry)),
        ]
    }

    static func text(_ plan: CandidatePlan, provider: String, model: String?, session: String?, pin: SessionPin?) -> String {
        let source = [
            "agent": "the agent's order", "config": "auth.order in gatehouse.json",
            "default": "default order: OAuth, tokens, API keys; least recently used first",
            "repaired": "default order (the explicit order names no usable profile)",
        ][plan.orderSource.rawValue]!
        var out = "\(provider)"
        var about: [String] = []
        if let model { about.append("model \(model)") }
        if let session { about.append("session \(session)" + (pin.map { ", pinned to \($0.profile) by \($0.source.rawValue)" } ?? ", no pin")) }
        if !about.isEmpty { out += " (" + about.joined(separator: "; ") + ")" }
        out += "\n  order: \(source)\n"
        switch plan.decision {
        case .use(let id, let why): out += "  next request: \(id): \(why)\n"
        case .probe(let id, let why): out += "  next request: probe \(id): \(why)\n"
        case .allUnavailable(let all):
            if all.entries.isEmpty {
                out += "  next request: none: no usable credential for \(provider)\n"
            } else {
                out += "  next request: none: every profile is in a window; answered with \(all.status), retry at \(Output.time(all.retryAt))\n"
            }
        }
        var rows: [[String]] = []
        for (index, entry) in plan.candidates.enumerated() {
            rows.append([
                String(index + 1), entry.profile.id.description, entry.profile.type.rawValue, entry.credentialState.rawValue,
                entry.window?.text ?? (entry.probeInFlight ? "billing probe in flight" : entry.awaitingProbe ? "awaiting a probe" : "-"),
                Output.time(entry.lastUsed),
            ])
        }
        for entry in plan.ineligible {
            rows.append(["-", entry.profile.id.description, entry.profile.type.rawValue, entry.credentialState.rawValue, "not eligible", Output.time(entry.lastUsed)])
        }
        if !rows.isEmpty {
            let table = Output.table(headers: ["#", "PROFILE", "TYPE", "CREDENTIAL", "WINDOW", "LAST USED"], rows: rows)
            out += table.split(separator: "\n").map { "  " + $0 }.joined(separator: "\n") + "\n"
        }
        return out
    }
}
