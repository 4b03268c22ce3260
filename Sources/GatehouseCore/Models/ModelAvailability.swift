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
    /// The provider's availability at `now` given the agent's health statistics. Runs on every read
    /// of the list: one pass over the provider's profiles, no allocation unless a model has a window
    /// of its own.
    public func availability(stats: [ProfileID: UsageStats], now: Int64) -> ProviderAvailability {
        var anyLive = false
        var earliest: HealthWindow?
        var available = false
        var scopedModels: [String] = []
        for member in members where (member.usableUntil ?? .max) > now {
            anyLive = true
            guard let entry = stats[member.id] else {
                available = true
                continue
            }
            if let model = entry.cooldownModel, (entry.cooldownUntil ?? .min) > now, !scopedModels.contains(model) {
                scopedModels.append(model)
            }
            guard !available else { continue }
            if let window = entry.activeWindow(model: nil, now: now, credentialFingerprint: member.fingerprint) {
                if earliest.map({ window.until < $0.until }) ?? true { earliest = window }
            } else {
                available = true
            }
        }
        guard anyLive else { return ProviderAvailability(base: needsCredential ? .missingAuth : .available, exceptions: [:]) }
        let base = available ? .available : Self.unavailable(earliest)
        var exceptions: [String: ModelAvailability] = [:]
        for model in scopedModels {
            let specific = availability(of: model, stats: stats, now: now)
            if specific != base { exceptions[model] = specific }
        }
        return ProviderAvailability(base: base, exceptions: exceptions)
    }

    /// The availability of one model (counting windows recorded for that model alone).
    private func availability(of model: String, stats: [ProfileID: UsageStats], now: Int64) -> ModelAvailability {
        var earliest: HealthWindow?
        for member in members where (member.usableUntil ?? .max) > now {
            guard let window = stats[member.id]?.activeWindow(model: model, now: now, credentialFingerprint: member.fingerprint) else {
                return .available
            }
            if earliest.map({ window.until < $0.until }) ?? true { earliest = window }
        }
        return Self.unavailable(earliest)
    }

    private static func unavailable(_ window: HealthWindow?) -> ModelAvailability {
        guard let window else { return .available }
        return ModelAvailability(available: false, reason: window.kind == .disabled ? .disabled : .cooldown, until: window.until)
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
            let baseSuffix = Self.suffix(now.base)
            for (model, entry) in zip(provider.models, provider.encodedEntries) {
                if !first { bytes.append(UInt8(ascii: ",")) }
                first = false
                bytes.append(contentsOf: entry)
                if !now.exceptions.isEmpty, let exception = now.exceptions[model.id] {
                    bytes.append(contentsOf: Self.suffix(exception))
                } else {
                    bytes.append(contentsOf: baseSuffix)
                }
            }
        }
        append("]}")
        return bytes
    }

    private static let availableSuffix = Array(#","available":true}"#.utf8)

    /// The availability fields of a list entry and its closing brace.
    static func suffix(_ state: ModelAvailability) -> [UInt8] {
        if state.available { return availableSuffix }
        var text = #","available":false"#
        if let reason = state.reason { text += #","unavailableReason":""# + reason.rawValue + "\"" }
        if let until = state.until { text += #","unavailableUntil":""# + ISO8601.format(millis: until) + "\"" }
        return Array((text + "}").utf8)
    }
}
