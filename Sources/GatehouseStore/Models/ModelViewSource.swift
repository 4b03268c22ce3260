import GatehouseCore

/// Builds an agent's prepared model view from its credential file, as the gateway and the CLI both do.
public enum ModelViewSource {
    /// What a build read: the view (or why there is none) and the digest of the credential file's
    /// bytes it was built from, for the file watcher to compare with.
    public struct Built: Sendable {
        public var result: Result<PreparedModelView, ModelViewError>
        public var profilesDigest: String
    }

    /// Reads `auth-profiles.json` of `agent` once and builds the view from it.
    public static func build(
        agent: String, generation: UInt64, home: GatehouseHome, catalog: EncodedModelCatalog,
        environmentProfiles: [AuthProfile], resolver: some SecretResolver, now: Int64
    ) -> Built {
        let path = home.authProfilesPath(agent)
        let bytes: [UInt8]?
        do {
            bytes = try FileIO.read(path)
        } catch {
            return Built(result: .failure(ModelViewError(message: error.message)), profilesDigest: StoreWriteJournal.digest(of: nil))
        }
        let digest = StoreWriteJournal.digest(of: bytes)
        let document: AuthProfilesDocument
        do {
            document = try bytes.map { bytes throws(StoreError) in try DocumentFile<AuthProfilesDocument>.decode(bytes, path: path) } ?? .empty
        } catch {
            return Built(result: .failure(ModelViewError(message: error.message)), profilesDigest: digest)
        }
        let view = PreparedModelView.build(
            agent: agent, generation: generation, catalog: catalog, profiles: document.sortedProfiles,
            environmentProfiles: environmentProfiles, resolver: resolver, now: now)
        return Built(result: .success(view), profilesDigest: digest)
    }
}
