import GatehouseCore
import Glibc

/// The state folder (`GATEHOUSE_HOME`, `--home`, default `~/.gatehouse`) and the paths inside it.
public struct GatehouseHome: Sendable, Hashable {
    /// The absolute path of the folder.
    public let path: String

    /// - Parameter path: the folder; relative paths are taken from the current directory and `~` is
    ///   expanded.
    public init(path: String) {
        var expanded = path
        if expanded == "~" || expanded.hasPrefix("~/") {
            expanded = Self.userHome + expanded.dropFirst()
        }
        if !expanded.hasPrefix("/") {
            var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
            if getcwd(&buffer, buffer.count) != nil {
                let cwd = String(decoding: buffer.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }, as: UTF8.self)
                expanded = cwd + "/" + expanded
            }
        }
        while expanded.count > 1 && expanded.hasSuffix("/") { expanded.removeLast() }
        self.path = expanded
    }

    /// The folder chosen by `--home`, else `GATEHOUSE_HOME`, else `~/.gatehouse`.
    public static func resolve(flag: String?, environment: [String: String]) -> GatehouseHome {
        if let flag, !flag.isEmpty { return GatehouseHome(path: flag) }
        if let env = environment["GATEHOUSE_HOME"], !env.isEmpty { return GatehouseHome(path: env) }
        return GatehouseHome(path: "~/.gatehouse")
    }

    private static var userHome: String {
        if let home = getenv("HOME") { return String(cString: home) }
        return "/root"
    }

    /// Creates the folder (0700) if it does not exist.
    public func create() throws(StoreError) {
        try FileIO.makeDirectories(path)
    }

    /// `gatehouse.json`.
    public var configurationPath: String { path + "/gatehouse.json" }
    /// `gateway-token`.
    public var gatewayTokenPath: String { path + "/gateway-token" }
    /// `agents/`.
    public var agentsPath: String { path + "/agents" }
    /// `agents/<agentId>/agent/`.
    public func agentDirectory(_ agentID: String) -> String { "\(agentsPath)/\(agentID)/agent" }
    /// `agents/<agentId>/agent/auth-profiles.json`.
    public func authProfilesPath(_ agentID: String) -> String { agentDirectory(agentID) + "/auth-profiles.json" }
    /// `agents/<agentId>/agent/auth-state.json`.
    public func authStatePath(_ agentID: String) -> String { agentDirectory(agentID) + "/auth-state.json" }
    /// `agents/<agentId>/sessions/sessions.json`.
    public func sessionsPath(_ agentID: String) -> String { "\(agentsPath)/\(agentID)/sessions/sessions.json" }
    /// `locks/`.
    public var locksPath: String { path + "/locks" }

    /// The agent ids that have a folder under `agents/`.
    public func agentIDsOnDisk() -> [String] {
        FileIO.directoryEntries(agentsPath).filter { AgentID.problem(with: $0) == nil }
    }
}
