import ArgumentParser
import GatehouseCore
import GatehouseStore

/// `gatehouse auth import`.
struct AuthImport: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import",
        abstract: "Import the OAuth login another command-line tool keeps (claude, codex).",
        discussion: """
            claude: Claude Code's ~/.claude/.credentials.json, into an anthropic profile.
            codex:  Codex CLI's $CODEX_HOME/auth.json (or ~/.codex/auth.json), into an openai-codex profile.
            The profile is named after the account e-mail when the file has one, else `default`; \
            importing again replaces it. From then on Gatehouse refreshes the login itself: the two \
            copies then diverge, and the tool whose refresh token was used first keeps working.
            """
    )

    @OptionGroup var global: GlobalOptions

    @Argument(help: "claude or codex.")
    var tool: String

    @Option(name: .long, help: ArgumentHelp("Read this file instead of the tool's default.", valueName: "path"))
    var from: String?

    @Option(name: .long, help: "The profile name (default: the account e-mail, else `default`).")
    var name: String?

    func run() async throws {
        guard let login = ExternalLogin(rawValue: tool) else {
            throw ValidationError("unknown tool '\(tool)'; expected claude or codex")
        }
        let context = try CommandContext(global)
        let path = from.map { GatehouseHome(path: $0).path } ?? defaultPath(login, environment: context.environment)
        guard let bytes = try FileIO.read(path) else {
            throw CLIError("\(path): no such file. Log in with the \(tool) command first, or give the file with --from")
        }
        let imported: ExternalLogin.Imported
        do {
            imported = try login.parse(try JSONValue.parse(bytes))
        } catch let error as JSONSyntaxError {
            throw CLIError("\(path): line \(error.line), column \(error.column): \(error.message)")
        } catch let error as JSONFieldError {
            throw CLIError("\(path): \(error)")
        }
        let id = try LoginNaming.profileID(provider: imported.provider, requested: name, email: imported.credential.email)
        try context.home.create()
        let replaced = try await context.agentStore().saveLogin(id, credential: imported.credential, logger: context.logger)
        if context.options.json {
            Output.printJSON([
                "id": .string(id.description), "replaced": .bool(replaced), "from": .string(path),
                "email": imported.credential.email.map(JSONValue.string) ?? .null, "expires": Output.jsonTime(imported.credential.expires),
            ])
        } else {
            print(id.description)
        }
    }

    private func defaultPath(_ login: ExternalLogin, environment: [String: String]) -> String {
        switch login {
        case .claude: return GatehouseHome(path: "~/.claude/.credentials.json").path
        case .codex:
            if let home = environment["CODEX_HOME"], !home.isEmpty { return GatehouseHome(path: home).path + "/auth.json" }
            return GatehouseHome(path: "~/.codex/auth.json").path
        }
    }
}

/// How logins are named.
enum LoginNaming {
    /// `--name` when given, else the account e-mail when it is a valid profile name, else `default`.
    static func profileID(provider: String, requested: String?, email: String?) throws -> ProfileID {
        do {
            if let requested {
                guard requested != AuthProfile.environmentProfileName else {
                    throw CLIError("the name 'env' is reserved for the provider's environment variable")
                }
                return try ProfileID(provider: provider, name: requested)
            }
            if let email, let id = try? ProfileID(provider: provider, name: email.lowercased()) { return id }
            return try ProfileID(provider: provider, name: "default")
        } catch let error as ProfileIDError {
            throw CLIError(error.description)
        }
    }
}
