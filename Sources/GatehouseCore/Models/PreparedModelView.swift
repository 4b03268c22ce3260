/// One agent's prepared answer to "which models can I use": for every provider, whether the agent
/// has auth for it (the profiles that can serve it), and its models with their list entries already
/// encoded. It has no expiry; it is replaced when something it was built from changes. Whether a
/// model is available right now is computed from the health state when the view is read
/// (`availability(stats:now:)`), never baked in.
public struct PreparedModelView: Sendable {
    /// A profile that can serve a provider's requests.
    public struct Member: Sendable, Hashable {
        public var id: ProfileID
        /// The fingerprint of its secret (a disable for an auth failure ends when it changes).
        public var fingerprint: String?
        /// When it stops being usable on its own (a token that cannot refresh expires); `nil`: never.
        public var usableUntil: Int64?
    }

    /// Why an agent can call a provider.
    public enum Readiness: String, Sendable, Hashable {
        /// The agent has an eligible profile.
        case profile
        /// A key in the environment (the `<provider>:env` profile).
        case environment
        /// The provider runs on this machine and needs no credential.
        case local
        /// None of the above.
        case missingAuth = "missing_auth"
    }

    /// A provider as the agent sees it.
    public struct Provider: Sendable {
        public var id: String
        public var readiness: Readiness
        public var needsCredential: Bool
        /// Its eligible profiles, in id order (the agent's own first, then the environment's).
        public var members: [Member]
        public var models: [ModelDefinition]
        /// Each model's list entry up to (not including) the availability fields and the closing brace.
        public var encodedEntries: [[UInt8]]

        public var hasAuth: Bool { readiness != .missingAuth }
    }

    /// The agent the view belongs to (its id, the canonical key).
    public var agent: String
    /// The invalidation generation the view was built for; a view never replaces a newer one.
    public var generation: UInt64
    /// Every provider of the configuration, in id order.
    public var providers: [Provider]

    /// The number of models over all providers.
    public var modelCount: Int { providers.reduce(0) { $0 + $1.models.count } }

    /// Builds the view of `agent` from the configuration's catalog and the agent's profiles.
    /// - Parameters:
    ///   - profiles: the agent's stored profiles.
    ///   - environmentProfiles: the `<provider>:env` profiles of keys in the environment.
    ///   - now: eligibility is decided at this time; a token that expires later is kept with its end.
    public static func build(
        agent: String, generation: UInt64, catalog: EncodedModelCatalog, profiles: [AuthProfile],
        environmentProfiles: [AuthProfile], resolver: some SecretResolver, now: Int64
    ) -> PreparedModelView {
        var members: [String: [Member]] = [:]
        var fromEnvironment: Set<String> = []
        var stored: Set<String> = []
        for (profile, isEnvironment) in profiles.map({ ($0, false) }) + environmentProfiles.map({ ($0, true) })
        where profile.isEligible(now: now, using: resolver) {
            members[profile.provider, default: []].append(
                Member(id: profile.id, fingerprint: profile.fingerprint(using: resolver), usableUntil: profile.usableUntil))
            if isEnvironment { fromEnvironment.insert(profile.provider) } else { stored.insert(profile.provider) }
        }
        var result: [Provider] = []
        result.reserveCapacity(catalog.providers.count)
        for entry in catalog.providers {
            let provider = entry.definition
            let readiness: Readiness =
                if stored.contains(provider.id) { .profile }
                else if fromEnvironment.contains(provider.id) { .environment }
                else if !provider.needsCredential { .local }
                else { .missingAuth }
            result.append(
                Provider(
                    id: provider.id, readiness: readiness, needsCredential: provider.needsCredential, members: members[provider.id] ?? [],
                    models: provider.models, encodedEntries: entry.encodedEntries))
        }
        return PreparedModelView(agent: agent, generation: generation, providers: result)
    }

    /// `{"id":"provider/model","object":"model","created":0,"owned_by":"provider","name":...,"contextWindow":...`
    static func encodeEntry(provider: String, model: ModelDefinition) -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(128)
        func key(_ name: StaticString) { bytes.append(contentsOf: UnsafeBufferPointer(start: name.utf8Start, count: name.utf8CodeUnitCount)) }
        key(#"{"id":"#)
        bytes.append(contentsOf: JSONValue.string("\(provider)/\(model.id)").serialized(pretty: false))
        key(#","object":"model","created":0,"owned_by":"#)
        bytes.append(contentsOf: JSONValue.string(provider).serialized(pretty: false))
        key(#","name":"#)
        bytes.append(contentsOf: JSONValue.string(model.name).serialized(pretty: false))
        if let window = model.contextWindow {
            key(#","contextWindow":"#)
            bytes.append(contentsOf: JSONValue.int(Int64(window)).serialized(pretty: false))
        }
        return bytes
    }
}

/// The configuration's providers in id order with every model's list entry encoded: the part of a
/// model view that is the same for every agent, made once per configuration.
public struct EncodedModelCatalog: Sendable {
    public struct Provider: Sendable {
        public var definition: ProviderDefinition
        public var encodedEntries: [[UInt8]]
    }

    public var providers: [Provider]

    public init(providers: some Collection<ProviderDefinition>) {
        self.providers = providers.sorted { $0.id < $1.id }.map { provider in
            Provider(definition: provider, encodedEntries: provider.models.map { PreparedModelView.encodeEntry(provider: provider.id, model: $0) })
        }
    }
}

extension AuthProfile {
    /// When an eligible profile stops being usable by itself: the expiry of a token, or of an OAuth
    /// access token that has no refresh token. `nil` when it does not run out.
    var usableUntil: Int64? {
        switch credential {
        case .oauth(let login):
            return (login.refresh?.isEmpty ?? true) ? login.expires : nil
        case .apiKey, .token:
            return credential.expires
        }
    }
}
