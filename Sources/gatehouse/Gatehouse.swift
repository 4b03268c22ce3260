import ArgumentParser
import Glibc

/// The `gatehouse` command.
@main
struct Gatehouse: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gatehouse",
        abstract: "Hold AI-provider credentials for your agents and serve their requests through them.",
        discussion: """
            State lives in GATEHOUSE_HOME (--home, default ~/.gatehouse): the configuration \
            gatehouse.json and, per agent, agents/<agent>/agent/auth-profiles.json (credentials) and \
            auth-state.json (order and health). Every command that changes a file follows the lock \
            contract in docs/lock-contract.md, so they are safe while a gateway or another command runs.
            """,
        version: "0.1.0",
        subcommands: [GatewayCommand.self, AuthCommand.self, ModelsCommand.self, SessionsCommand.self, DoctorCommand.self]
    )

    static func main() async {
        // Files and folders Gatehouse creates are private to the user.
        umask(0o077)
        do {
            var command = try parseAsRoot()
            if var asyncCommand = command as? any AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch {
            exit(withError: error)
        }
    }
}
