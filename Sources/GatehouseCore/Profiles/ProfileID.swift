/// The identifier of an auth profile: `provider:name`, for example `anthropic:default` or
/// `openai:work@example.com`.
///
/// The provider part is a lowercase provider id (`a-z`, `0-9`, `.`, `_`, `-`; it starts with a letter
/// or digit). The name part starts with a letter or digit and may hold letters, digits and `. _ - @ +`,
/// so an account e-mail is a valid name. Neither part may be longer than 128 characters.
public struct ProfileID: Hashable, Sendable, Comparable, CustomStringConvertible {
    /// The provider this profile belongs to.
    public let provider: String
    /// The profile's name within its provider.
    public let name: String
    /// `provider:name`, made once: requests name their profile in a header and a log line, and
    /// health is kept by profile (the id is hashed and compared as this one string).
    public let description: String

    /// Creates an id from its parts, validating both.
    /// - Throws: `ProfileIDError` naming the part that is wrong.
    public init(provider: String, name: String) throws(ProfileIDError) {
        do throws(ProfileIDError) {
            try Self.validateProvider(provider)
        } catch {
            throw ProfileIDError(id: "\(provider):\(name)", reason: error.reason)
        }
        try Self.validateName(name, in: "\(provider):\(name)")
        self.provider = provider
        self.name = name
        self.description = "\(provider):\(name)"
    }

    /// Parses `provider:name`.
    /// - Throws: `ProfileIDError` when the text is not a valid id.
    public init(parsing text: String) throws(ProfileIDError) {
        guard let colon = text.firstIndex(of: ":") else {
            throw ProfileIDError(id: text, reason: "a profile id is `provider:name`, for example `anthropic:default`")
        }
        let provider = String(text[..<colon])
        let name = String(text[text.index(after: colon)...])
        do throws(ProfileIDError) {
            try Self.validateProvider(provider)
        } catch {
            throw ProfileIDError(id: text, reason: error.reason)
        }
        try Self.validateName(name, in: text)
        self.provider = provider
        self.name = name
        self.description = text
    }

    // The parts are what `description` holds: comparing and hashing it is enough.
    public static func == (lhs: ProfileID, rhs: ProfileID) -> Bool {
        lhs.description == rhs.description
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(description)
    }

    public static func < (lhs: ProfileID, rhs: ProfileID) -> Bool {
        (lhs.provider, lhs.name) < (rhs.provider, rhs.name)
    }

    /// Checks a provider id: lowercase letters, digits, `.`, `_`, `-`, starting with a letter or digit.
    public static func validateProvider(_ provider: String) throws(ProfileIDError) {
        let scalars = provider.unicodeScalars
        guard let first = scalars.first else {
            throw ProfileIDError(id: provider, reason: "the provider part is empty")
        }
        guard scalars.count <= 128 else {
            throw ProfileIDError(id: provider, reason: "the provider id is longer than 128 characters")
        }
        guard isLowerAlphanumeric(first) else {
            throw ProfileIDError(
                id: provider, reason: "a provider id starts with a lowercase letter or a digit, not '\(first)'")
        }
        for scalar in scalars where !(isLowerAlphanumeric(scalar) || scalar == "." || scalar == "_" || scalar == "-") {
            throw ProfileIDError(
                id: provider,
                reason: "a provider id holds only lowercase letters, digits, '.', '_' and '-', not '\(scalar)'")
        }
    }

    private static func validateName(_ name: String, in id: String) throws(ProfileIDError) {
        let scalars = name.unicodeScalars
        guard let first = scalars.first else {
            throw ProfileIDError(id: id, reason: "the name after ':' is empty")
        }
        guard scalars.count <= 128 else {
            throw ProfileIDError(id: id, reason: "the name is longer than 128 characters")
        }
        guard isAlphanumeric(first) else {
            throw ProfileIDError(id: id, reason: "a profile name starts with a letter or a digit, not '\(first)'")
        }
        for scalar in scalars
        where !(isAlphanumeric(scalar) || scalar == "." || scalar == "_" || scalar == "-" || scalar == "@" || scalar == "+") {
            throw ProfileIDError(
                id: id, reason: "a profile name holds only letters, digits and '. _ - @ +', not '\(scalar)'")
        }
    }

    private static func isLowerAlphanumeric(_ s: Unicode.Scalar) -> Bool {
        ("a"..."z").contains(s) || ("0"..."9").contains(s)
    }

    private static func isAlphanumeric(_ s: Unicode.Scalar) -> Bool {
        isLowerAlphanumeric(s) || ("A"..."Z").contains(s)
    }
}

/// A profile id that is not valid, and why.
public struct ProfileIDError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The text that was given.
    public var id: String
    /// What is wrong with it.
    public var reason: String

    public init(id: String, reason: String) {
        self.id = id
        self.reason = reason
    }

    public var description: String { "invalid profile id '\(id)': \(reason)" }
}
