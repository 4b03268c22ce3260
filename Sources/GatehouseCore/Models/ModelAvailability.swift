/// Whether a model can be used right now, and if not, why and until when.
public struct ModelAvailability: Sendable, Hashable {
    public enum Reason: String, Sendable, Hashable {
        /// The agent has no usable credential for the provider.
        case missingAuth = "missing_auth"
        /// Every profile that could serve it is cooling down after transient failures.
        case cooldown
        /// Every profile that could serve it is disabled (auth or billing failures).
        case disabled
    }

    public var available: Bool
    public var reason: Reason?
    /// When the first profile becomes usable again (milliseconds since the epoch).
    public var until: Int64?

    public init(available: Bool, reason: Reason?, until: Int64?) {
        self.available = available
        self.reason = reason
        self.until = until
    }

    public static let available = ModelAvailability(available: true, reason: nil, until: nil)
    public static let missingAuth = ModelAvailability(available: false, reason: .missingAuth, until: nil)
}

/// A provider's availability at one moment: one answer for its models, and the models that differ
/// (a cooldown recorded for one model only).
public struct ProviderAvailability: Sendable {
    public var base: ModelAvailability
    public var exceptions: [String: ModelAvailability]

    public func of(model: String) -> ModelAvailability { exceptions.isEmpty ? base : exceptions[model] ?? base }
}

extension PreparedModelView.Provider {
    /// The provider's availability at `now` given the agent's health statistics.
    public func availability(stats: [ProfileID: UsageStats], now: Int64) -> ProviderAvailability {
        let live = members.filter { ($0.usableUntil ?? .max) > now }
        if live.isEmpty {
            return ProviderAvailability(base: needsCredential ? .missingAuth : .available, exceptions: [:])
        }
        let base = Self.availability(of: live, model: nil, stats: stats, now: now)
        var exceptions: [String: ModelAvailability] = [:]
        for member in live {
            guard let model = stats[member.id]?.cooldownModel, exceptions[model] == nil else { continue }
            let specific = Self.availability(of: live, model: model, stats: stats, now: now)
            if specific != base { exceptions[model] = specific }
        }
        return ProviderAvailability(base: base, exceptions: exceptions)
    }

    private static func availability(of members: [PreparedModelView.Member], model: String?, stats: [ProfileID: UsageStats], now: Int64)
        -> ModelAvailability
    {
        var earliest: HealthWindow?
        for member in members {
            guard let window = stats[member.id]?.activeWindow(model: model, now: now, credentialFingerprint: member.fingerprint) else {
                return .available
            }
            if earliest.map({ window.until < $0.until }) ?? true { earliest = window }
        }
        guard let earliest else { return .available }
        return ModelAvailability(available: false, reason: earliest.kind == .disabled ? .disabled : .cooldown, until: earliest.until)
    }
}

extension PreparedModelView {
    /// Every provider's availability at `now`, in the view's provider order.
    public func availability(stats: [ProfileID: UsageStats], now: Int64) -> [ProviderAvailability] {
        providers.map { $0.availability(stats: stats, now: now) }
    }

    /// The OpenAI model list (`{"object":"list","data":[...]}`), each entry with `available` and,
    /// when it is not, `unavailableReason` and `unavailableUntil`. Without `all`, only the models of
    /// providers the agent has auth for.
    public func listJSON(availability: [ProviderAvailability], all: Bool) -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(64 + modelCount * 160)
        func append(_ text: StaticString) { bytes.append(contentsOf: UnsafeBufferPointer(start: text.utf8Start, count: text.utf8CodeUnitCount)) }
        append(#"{"object":"list","data":["#)
        var first = true
        for (provider, now) in zip(providers, availability) where all || provider.hasAuth {
            for (model, entry) in zip(provider.models, provider.encodedEntries) {
                if !first { bytes.append(UInt8(ascii: ",")) }
                first = false
                bytes.append(contentsOf: entry)
                let state = now.of(model: model.id)
                if state.available {
                    append(#","available":true}"#)
                    continue
                }
                append(#","available":false"#)
                if let reason = state.reason {
                    append(#","unavailableReason":""#)
                    bytes.append(contentsOf: reason.rawValue.utf8)
                    bytes.append(UInt8(ascii: "\""))
                }
                if let until = state.until {
                    append(#","unavailableUntil":""#)
                    bytes.append(contentsOf: ISO8601.format(millis: until).utf8)
                    bytes.append(UInt8(ascii: "\""))
                }
                bytes.append(UInt8(ascii: "}"))
            }
        }
        append("]}")
        return bytes
    }
}
