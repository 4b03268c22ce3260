import ArgumentParser

/// Options every command takes.
struct GlobalOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("The state folder.", discussion: "Default: $GATEHOUSE_HOME, else ~/.gatehouse.", valueName: "path"))
    var home: String?

    @Option(name: .long, help: ArgumentHelp("The agent whose credentials to use (default: the configured default agent, `main`).", valueName: "id"))
    var agent: String?

    @Flag(name: .long, help: "Print machine-readable JSON instead of text.")
    var json = false
}
