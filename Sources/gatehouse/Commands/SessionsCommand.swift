import ArgumentParser
import GatehouseCore
import GatehouseStore

/// `gatehouse sessions`.
struct SessionsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sessions",
        abstract: "List sessions and pin, unpin or reset their profile.",
        discussion: """
            A client names its session with the X-Gatehouse-Session header. A pin you set here (source \
            "user") survives resets and restarts and is skipped, not dropped, while its profile is in a \
            window. A pin the gateway set (source "auto") is dropped by a reset and never passes to a new \
            session. A running gateway sees changes made here on the session's next request.
            """,
        subcommands: [List.self, Show.self, Pin.self, Unpin.self, Reset.self]
    )

    static func store(_ context: CommandContext) -> SessionStore {
        SessionStore(home: context.home, agentID: context.agentID, logger: context.logger)
    }

    static func check(_ key: String) throws {
        if let problem = SessionStore.problem(withKey: key) { throw ValidationError(problem) }
    }

    static func json(key: String, entry: SessionEntry?) -> JSONValue {
        [
            "key": .string(key), "pin": entry?.authProfileOverride.map(JSONValue.string) ?? .null,
            "source": entry?.authProfileOverrideSource.map { .string($0.rawValue) } ?? .null,
            "pinnedAt": Output.jsonTime(entry?.authProfileOverrideSetAt), "updatedAt": Output.jsonTime(entry?.updatedAt),
        ]
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "list", abstract: "List the agent's sessions and their pins.")
        @OptionGroup var global: GlobalOptions

        func run() async throws {
            let context = try CommandContext(global)
            let sessions = try SessionsCommand.store(context).file.read().sessions.sorted { $0.key < $1.key }
            if context.options.json {
                Output.printJSON(["agent": .string(context.agentID), "sessions": .array(sessions.map { SessionsCommand.json(key: $0.key, entry: $0.value) })])
                return
            }
            guard !sessions.isEmpty else {
                print("No sessions for agent '\(context.agentID)'.")
                return
            }
            print(Output.table(
                headers: ["SESSION", "PIN", "SOURCE", "PINNED AT", "UPDATED"],
                rows: sessions.map { key, entry in
                    [key, entry.authProfileOverride ?? "-", entry.authProfileOverrideSource?.rawValue ?? "-",
                     Output.time(entry.authProfileOverrideSetAt), Output.time(entry.updatedAt)]
                }), terminator: "")
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "show", abstract: "Show a session's pin and the profile its next request would use, per provider.")
        @OptionGroup var global: GlobalOptions
        @Argument(help: "The session key.") var key: String

        func validate() throws { try SessionsCommand.check(key) }

        func run() async throws {
            let context = try CommandContext(global)
            let entry = try SessionsCommand.store(context).entry(key)
            let snapshot = try SelectionSnapshot(context)
            let now = WallClock.nowMillis()
            var next: [JSONValue] = []
            var lines: [String] = []
            for provider in snapshot.providers {
                let plan = snapshot.plan(provider: provider, model: nil, session: entry?.pin, hasSession: true, now: now)
                next.append(["provider": .string(provider), "next": AuthStatus.decisionJSON(plan.decision)])
                switch plan.decision {
                case .use(let id, let why): lines.append("  \(provider): \(id) (\(why))")
                case .probe(let id, let why): lines.append("  \(provider): probe \(id) (\(why))")
                case .allUnavailable(let all): lines.append("  \(provider): none available (status \(all.status))")
                }
            }
            if context.options.json {
                var json = SessionsCommand.json(key: key, entry: entry).objectValue!
                json["exists"] = .bool(entry != nil)
                json["next"] = .array(next)
                Output.printJSON(.object(json))
                return
            }
            print("session \(key)\(entry == nil ? " (new: no entry yet)" : "")")
            if let pin = entry?.pin {
                print("  pin: \(pin.profile) (set by \(pin.source.rawValue) at \(Output.time(pin.setAt)))")
            } else {
                print("  pin: none")
            }
            print("next request per provider:")
            for line in lines { print(line) }
        }
    }

    struct Pin: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "pin", abstract: "Pin a profile for a session (as a user pin).")
        @OptionGroup var global: GlobalOptions
        @Argument(help: "The session key.") var key: String
        @Argument(help: "The profile id.") var profile: String

        func validate() throws { try SessionsCommand.check(key) }

        func run() async throws {
            let context = try CommandContext(global)
            let id: ProfileID
            do { id = try ProfileID(parsing: profile) } catch { throw CLIError(error.description) }
            guard try SelectionSnapshot(context).contains(id) else {
                throw CLIError("no profile \(id) for agent '\(context.agentID)'; see `gatehouse auth list`")
            }
            try await SessionsCommand.store(context).pin(key, profile: id, now: WallClock.nowMillis())
            if context.options.json {
                Output.printJSON(SessionsCommand.json(key: key, entry: try SessionsCommand.store(context).entry(key)))
            } else {
                print("session \(key) pinned to \(id)")
            }
        }
    }

    struct Unpin: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "unpin", abstract: "Remove a session's pin, whoever set it.")
        @OptionGroup var global: GlobalOptions
        @Argument(help: "The session key.") var key: String

        func validate() throws { try SessionsCommand.check(key) }

        func run() async throws {
            let context = try CommandContext(global)
            let removed = try await SessionsCommand.store(context).unpin(key, now: WallClock.nowMillis())
            if context.options.json {
                Output.printJSON(["key": .string(key), "removed": removed.map { .string($0.profile) } ?? .null])
            } else {
                print(removed.map { "session \(key): removed the pin to \($0.profile) (\($0.source.rawValue))" } ?? "session \(key) had no pin")
            }
        }
    }

    struct Reset: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "reset", abstract: "Reset a session: drop an automatic pin, keep a user's pin.")
        @OptionGroup var global: GlobalOptions
        @Argument(help: "The session key.") var key: String

        func validate() throws { try SessionsCommand.check(key) }

        func run() async throws {
            let context = try CommandContext(global)
            let kept = try await SessionsCommand.store(context).reset(key, now: WallClock.nowMillis())
            if context.options.json {
                Output.printJSON(["key": .string(key), "keptPin": kept.map { .string($0.profile) } ?? .null])
            } else {
                print(kept.map { "session \(key) reset; kept the user's pin to \($0.profile)" } ?? "session \(key) reset; no pin")
            }
        }
    }
}
