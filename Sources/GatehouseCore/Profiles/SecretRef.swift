/// Where a secret lives when it is not written into the credential file itself.
///
/// `{"source":"env","id":"ANTHROPIC_API_KEY"}` reads an environment variable;
/// `{"source":"file","id":"/run/secrets/anthropic"}` reads a file (surrounding white space is
/// trimmed; a relative path is taken relative to `GATEHOUSE_HOME`).
public struct SecretRef: Hashable, Sendable, CustomStringConvertible {
    /// The kinds of place a secret can be read from.
    public enum Source: String, Sendable, Hashable, CaseIterable {
        case env
        case file
    }

    /// Where to read from.
    public var source: Source
    /// The variable name or file path.
    public var id: String
    /// Fields this version does not know; written back unchanged.
    public var extra: [String: JSONValue] = [:]

    public init(source: Source, id: String) {
        self.source = source
        self.id = id
    }

    public var description: String { "\(source.rawValue):\(id)" }

    /// The JSON form stored in credential files.
    public var json: JSONValue {
        var object = extra
        object["source"] = .string(source.rawValue)
        object["id"] = .string(id)
        return .object(object)
    }

    /// Reads a reference from its JSON form.
    /// - Throws: `JSONFieldError` naming the field when the value is not a valid reference.
    public init(json: JSONValue, field: String) throws(JSONFieldError) {
        guard json.objectValue != nil else {
            throw JSONFieldError(field: field, reason: "expected an object like {\"source\":\"env\",\"id\":\"VAR\"}, found \(json.typeName)")
        }
        var reader = try JSONFieldReader(json, path: field)
        guard let sourceText = try? reader.string("source"), let source = Source(rawValue: sourceText) else {
            throw JSONFieldError(field: "\(field).source", reason: "must be \"env\" or \"file\"")
        }
        guard let id = try? reader.string("id"), !id.isEmpty else {
            throw JSONFieldError(field: "\(field).id", reason: "must be a non-empty string")
        }
        self.init(source: source, id: id)
        self.extra = reader.unread
    }
}

/// Reads the secrets that references point to. The store provides the real one (environment and
/// files); tests provide their own.
public protocol SecretResolver: Sendable {
    /// The secret, or `nil` when the variable is unset or empty or the file cannot be read.
    func resolve(_ ref: SecretRef) -> String?
    /// The value of an environment variable, or `nil` when unset or empty.
    func environmentValue(_ name: String) -> String?
}

/// A resolver over a fixed environment and no files, for tests and for code that must not read.
public struct StaticSecretResolver: SecretResolver {
    public var environment: [String: String]
    public var files: [String: String]

    public init(environment: [String: String] = [:], files: [String: String] = [:]) {
        self.environment = environment
        self.files = files
    }

    public func resolve(_ ref: SecretRef) -> String? {
        switch ref.source {
        case .env: environmentValue(ref.id)
        case .file: files[ref.id].flatMap { $0.isEmpty ? nil : $0 }
        }
    }

    public func environmentValue(_ name: String) -> String? {
        guard let value = environment[name], !value.isEmpty else { return nil }
        return value
    }
}
