import GatehouseCore

/// Loads `gatehouse.json`.
public enum ConfigurationFile {
    /// Reads the configuration of a home. A missing file gives the defaults.
    /// - Throws: `StoreError` naming the file and the line and column (bad JSON) or the field (a wrong,
    ///   unknown or invalid value).
    public static func load(_ home: GatehouseHome, environment: [String: String]) throws(StoreError) -> GatehouseConfiguration {
        let path = home.configurationPath
        guard let bytes = try FileIO.read(path) else { return GatehouseConfiguration() }
        let json: JSONValue
        do {
            json = try JSONValue.parse(bytes)
        } catch {
            throw StoreError(code: .malformedFile, path: path, message: "\(path): line \(error.line), column \(error.column): \(error.message)")
        }
        do {
            return try GatehouseConfiguration(json: json, environment: environment)
        } catch {
            throw StoreError(code: .invalidContent, path: path, message: "\(path): \(error.field): \(error.reason)")
        }
    }
}
