import GatehouseCore

/// A JSON file of the store: how it reads and writes itself. Unknown top-level fields are kept.
public protocol StoreDocument: Sendable {
    /// The document a missing file stands for.
    static var empty: Self { get }
    /// Reads the document from parsed JSON.
    /// - Throws: `JSONFieldError` naming the field that is wrong.
    init(json: JSONValue) throws(JSONFieldError)
    /// The JSON form to write.
    var json: JSONValue { get }
}

extension StoreDocument {
    /// Reads a `version` field: absent or 1 is fine; a newer version is refused so that this version
    /// never rewrites (and so damages) a file it does not understand.
    static func checkVersion(_ reader: inout JSONFieldReader) throws(JSONFieldError) -> Int64 {
        let version = try reader.int("version") ?? 1
        guard version == 1 else {
            throw JSONFieldError(
                field: "version",
                reason: "version \(version) is not supported by this Gatehouse (it reads version 1); upgrade Gatehouse")
        }
        return version
    }
}
