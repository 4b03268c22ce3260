import GatehouseCore

/// The files of one agent: credentials (`auth-profiles.json`) and routing state (`auth-state.json`).
public struct AgentStore: Sendable {
    public let home: GatehouseHome
    public let agentID: String
    /// Credentials.
    public let profiles: DocumentFile<AuthProfilesDocument>
    /// Routing state: order, last good profile, usage statistics.
    public let state: DocumentFile<AuthStateDocument>

    /// - Throws: `StoreError` when the agent id is not valid.
    public init(home: GatehouseHome, agentID: String, lockOptions: FileLockOptions = .store) throws(StoreError) {
        if let problem = AgentID.problem(with: agentID) {
            throw StoreError(code: .invalidArgument, path: nil, message: "invalid agent id '\(agentID)': \(problem)")
        }
        self.home = home
        self.agentID = agentID
        self.profiles = DocumentFile(path: home.authProfilesPath(agentID), lockOptions: lockOptions)
        self.state = DocumentFile(path: home.authStatePath(agentID), lockOptions: lockOptions)
    }
}
