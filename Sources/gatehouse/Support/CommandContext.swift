import ArgumentParser
import GatehouseCore
import GatehouseGateway
import GatehouseStore
import Glibc
import Logging

/// What a command works with: the home folder, the configuration, the chosen agent, the environment.
struct CommandContext {
    let home: GatehouseHome
    let configuration: GatehouseConfiguration
    let environment: [String: String]
    let agentID: String
    let logger: Logger
    let options: GlobalOptions

    /// Loads the configuration and checks the agent. Does not create anything.
    init(_ options: GlobalOptions, defaultLogLevel: Logger.Level = .notice) throws {
        let environment = Self.processEnvironment()
        self.options = options
        self.environment = environment
        self.home = GatehouseHome.resolve(flag: options.home, environment: environment)
        self.configuration = try ConfigurationFile.load(home, environment: environment)
        self.logger = Self.makeLogger(environment: environment, defaultLevel: defaultLogLevel)
        let agentID = options.agent ?? configuration.defaultAgentID
        if let problem = AgentID.problem(with: agentID) {
            throw ValidationError("invalid agent id '\(agentID)': \(problem)")
        }
        let known = Set(configuration.agents.map(\.id)).union(home.agentIDsOnDisk())
        guard known.contains(agentID) || agentID == configuration.defaultAgentID else {
            throw CLIError(
                "unknown agent '\(agentID)'; configured agents: \(configuration.agents.map(\.id).joined(separator: ", ")). Add it to the \"agents\" list of \(home.configurationPath).")
        }
        self.agentID = agentID
    }

    /// The store of the chosen agent.
    func agentStore() throws -> AgentStore {
        try AgentStore(home: home, agentID: agentID)
    }

    /// Resolves secret references from this process's environment and files.
    var resolver: EnvironmentSecretResolver {
        EnvironmentSecretResolver(environment: environment, baseDirectory: home.path)
    }

    /// Every provider: built-in ones with the configuration's changes, and the configuration's own.
    var providers: [String: ProviderDefinition] { configuration.resolvedProviders }

    /// The read-only `<provider>:env` profiles for keys present in the environment.
    func environmentProfiles() -> [AuthProfile] {
        AuthProfile.environmentProfiles(of: providers.values, using: resolver)
    }

    static func processEnvironment() -> [String: String] {
        var result: [String: String] = [:]
        var pointer = environ
        while let entry = pointer.pointee {
            let text = String(cString: entry)
            if let equals = text.firstIndex(of: "=") {
                result[String(text[..<equals])] = String(text[text.index(after: equals)...])
            }
            pointer += 1
        }
        return result
    }

    private static func makeLogger(environment: [String: String], defaultLevel: Logger.Level) -> Logger {
        var logger = Logger(label: "gatehouse") { label in StandardErrorLogHandler(label: label) }
        logger.logLevel = environment["GATEHOUSE_LOG_LEVEL"].flatMap(Logger.Level.init(rawValue:)) ?? defaultLevel
        return logger
    }
}

/// An error a command reports as it is: the message says what went wrong and what to do.
struct CLIError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
