import GatehouseCore

/// Resolves secret references from the process environment and from files.
public struct EnvironmentSecretResolver: SecretResolver {
    public let environment: [String: String]
    /// Relative file references are taken from this folder (the Gatehouse home).
    public let baseDirectory: String

    public init(environment: [String: String], baseDirectory: String) {
        self.environment = environment
        self.baseDirectory = baseDirectory
    }

    public func resolve(_ ref: SecretRef) -> String? {
        switch ref.source {
        case .env:
            return environmentValue(ref.id)
        case .file:
            let path = ref.id.hasPrefix("/") ? ref.id : baseDirectory + "/" + ref.id
            guard let bytes = try? FileIO.read(path) else { return nil }
            let value = String(decoding: bytes, as: UTF8.self).trimmingWhitespace
            return value.isEmpty ? nil : value
        }
    }

    public func environmentValue(_ name: String) -> String? {
        guard let value = environment[name], !value.isEmpty else { return nil }
        return value
    }
}
