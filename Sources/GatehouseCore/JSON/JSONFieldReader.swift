/// A field of a JSON document that has the wrong type or value.
public struct JSONFieldError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The path of the field, for example `profiles["anthropic:default"].expires`.
    public var field: String
    /// What is wrong and what is expected.
    public var reason: String

    public init(field: String, reason: String) {
        self.field = field
        self.reason = reason
    }

    public var description: String { "\(field): \(reason)" }
}

/// Reads the fields of one JSON object, remembering which keys were read so that the rest can be
/// kept (unknown fields survive a rewrite) or reported (unknown keys in configuration are errors).
public struct JSONFieldReader {
    /// The object being read.
    public let object: [String: JSONValue]
    /// The path of the object, prefixed to every field in errors.
    public let path: String
    private var consumed: Set<String> = []

    /// - Throws: `JSONFieldError` when `value` is not an object.
    public init(_ value: JSONValue, path: String) throws(JSONFieldError) {
        guard let object = value.objectValue else {
            throw JSONFieldError(field: path.isEmpty ? "(top level)" : path, reason: "expected an object, found \(value.typeName)")
        }
        self.object = object
        self.path = path
    }

    /// The path of a field of this object.
    public func fieldPath(_ key: String) -> String {
        Self.fieldPath(key, in: path)
    }

    /// The path of `key` inside the object at `path`: `a.b`, or `a["odd key"]` for keys that are not
    /// plain identifiers.
    public static func fieldPath(_ key: String, in path: String) -> String {
        let simple = key.unicodeScalars.allSatisfy { ("a"..."z").contains($0) || ("A"..."Z").contains($0) || ("0"..."9").contains($0) || $0 == "_" }
        let part = simple ? key : "[\"\(key)\"]"
        if path.isEmpty { return part }
        return simple ? "\(path).\(key)" : "\(path)\(part)"
    }

    /// The raw value of a key (null counts as absent).
    public mutating func value(_ key: String) -> JSONValue? {
        consumed.insert(key)
        guard let value = object[key], !value.isNull else { return nil }
        return value
    }

    public mutating func string(_ key: String, nonEmpty: Bool = false) throws(JSONFieldError) -> String? {
        guard let value = value(key) else { return nil }
        guard let string = value.stringValue else { throw typeError(key, "a string", value) }
        if nonEmpty && string.isEmpty { throw JSONFieldError(field: fieldPath(key), reason: "must not be empty") }
        return string
    }

    public mutating func int(_ key: String) throws(JSONFieldError) -> Int64? {
        guard let value = value(key) else { return nil }
        guard let int = value.intValue else { throw typeError(key, "an integer", value) }
        return int
    }

    public mutating func double(_ key: String) throws(JSONFieldError) -> Double? {
        guard let value = value(key) else { return nil }
        guard let double = value.doubleValue else { throw typeError(key, "a number", value) }
        return double
    }

    public mutating func bool(_ key: String) throws(JSONFieldError) -> Bool? {
        guard let value = value(key) else { return nil }
        guard let bool = value.boolValue else { throw typeError(key, "true or false", value) }
        return bool
    }

    public mutating func array(_ key: String) throws(JSONFieldError) -> [JSONValue]? {
        guard let value = value(key) else { return nil }
        guard let array = value.arrayValue else { throw typeError(key, "an array", value) }
        return array
    }

    public mutating func stringArray(_ key: String) throws(JSONFieldError) -> [String]? {
        guard let array = try array(key) else { return nil }
        var result: [String] = []
        for (index, element) in array.enumerated() {
            guard let string = element.stringValue else {
                throw JSONFieldError(field: "\(fieldPath(key))[\(index)]", reason: "expected a string, found \(element.typeName)")
            }
            result.append(string)
        }
        return result
    }

    /// A nested object's reader, or `nil` when the key is absent.
    public mutating func object(_ key: String) throws(JSONFieldError) -> JSONFieldReader? {
        guard let value = value(key) else { return nil }
        return try JSONFieldReader(value, path: fieldPath(key))
    }

    /// The fields that were not read, to keep them on rewrite.
    public var unread: [String: JSONValue] {
        object.filter { !consumed.contains($0.key) }
    }

    /// Fails naming the first key (in sorted order) that was not read: for documents where unknown keys
    /// are errors.
    public func rejectUnknownKeys(known: [String]) throws(JSONFieldError) {
        let unknown = unread.keys.sorted()
        guard let first = unknown.first else { return }
        let name = unknown.count == 1 ? "unknown key" : "unknown keys \(unknown.map { "'\($0)'" }.joined(separator: ", "))"
        throw JSONFieldError(field: fieldPath(first), reason: "\(name); known keys here: \(known.joined(separator: ", "))")
    }

    private func typeError(_ key: String, _ expected: String, _ found: JSONValue) -> JSONFieldError {
        JSONFieldError(field: fieldPath(key), reason: "expected \(expected), found \(found.typeName)")
    }
}
