extension GatehouseConfiguration {
    /// Reads a configuration from parsed JSON. `${VAR}` in any string is replaced by the variable's
    /// value from `environment`.
    /// - Throws: `JSONFieldError` naming the first field that is unknown, of the wrong type or invalid.
    public init(json: JSONValue, environment: [String: String]) throws(JSONFieldError) {
        self.init()
        let expanded = try Self.expandVariables(json, path: "", environment: environment)
        var root = try JSONFieldReader(expanded, path: "")

        if var gateway = try root.object("gateway") {
            if let bind = try gateway.string("bind", nonEmpty: true) { self.gateway.bind = bind }
            if let port = try gateway.int("port") {
                guard (1...65535).contains(port) else {
                    throw JSONFieldError(field: gateway.fieldPath("port"), reason: "must be a port number from 1 to 65535, found \(port)")
                }
                self.gateway.port = Int(port)
            }
            if let bytes = try gateway.int("maxBodyBytes") {
                guard bytes >= 1024 else {
                    throw JSONFieldError(field: gateway.fieldPath("maxBodyBytes"), reason: "must be at least 1024 (bytes), found \(bytes)")
                }
                self.gateway.maxBodyBytes = Int(bytes)
            }
            if let seconds = try gateway.int("drainTimeoutSeconds") {
                guard (0...3600).contains(seconds) else {
                    throw JSONFieldError(field: gateway.fieldPath("drainTimeoutSeconds"), reason: "must be from 0 to 3600 (seconds), found \(seconds)")
                }
                self.gateway.drainTimeoutSeconds = Int(seconds)
            }
            try gateway.rejectUnknownKeys(known: ["bind", "port", "maxBodyBytes", "drainTimeoutSeconds"])
        }

        if let agentList = try root.array("agents") {
            var agents: [Agent] = []
            var seen: Set<String> = []
            for (index, element) in agentList.enumerated() {
                var agent = try JSONFieldReader(element, path: "agents[\(index)]")
                guard let id = try agent.string("id") else {
                    throw JSONFieldError(field: agent.fieldPath("id"), reason: "missing; every agent needs an id")
                }
                if let problem = AgentID.problem(with: id) {
                    throw JSONFieldError(field: agent.fieldPath("id"), reason: "\"\(id)\": \(problem)")
                }
                guard seen.insert(id).inserted else {
                    throw JSONFieldError(field: agent.fieldPath("id"), reason: "agent \"\(id)\" is listed twice")
                }
                agents.append(Agent(id: id, isDefault: try agent.bool("default") ?? false))
                try agent.rejectUnknownKeys(known: ["id", "default"])
            }
            let defaults = agents.filter(\.isDefault)
            if defaults.count > 1 {
                throw JSONFieldError(field: "agents", reason: "more than one agent is marked default: \(defaults.map(\.id).joined(separator: ", "))")
            }
            if !agents.isEmpty && defaults.isEmpty { agents[0].isDefault = true }
            if !agents.isEmpty { self.agents = agents }
        }

        if let providers = try root.object("providers") {
            for (id, value) in providers.object {
                let path = providers.fieldPath(id)
                do throws(ProfileIDError) {
                    try ProfileID.validateProvider(id)
                } catch {
                    throw JSONFieldError(field: path, reason: error.reason)
                }
                self.providers[id] = try Self.decodeProvider(value, path: path, isBuiltin: BuiltinProviders.all[id] != nil)
            }
        }

        if var auth = try root.object("auth") {
            if let order = try auth.object("order") {
                for (provider, value) in order.object {
                    do throws(ProfileIDError) {
                        try ProfileID.validateProvider(provider)
                    } catch {
                        throw JSONFieldError(field: order.fieldPath(provider), reason: error.reason)
                    }
                    guard let list = value.arrayValue else {
                        throw JSONFieldError(field: order.fieldPath(provider), reason: "expected an array of profile ids, found \(value.typeName)")
                    }
                    var ids: [ProfileID] = []
                    for (index, element) in list.enumerated() {
                        let field = "\(order.fieldPath(provider))[\(index)]"
                        guard let text = element.stringValue else {
                            throw JSONFieldError(field: field, reason: "expected a profile id string, found \(element.typeName)")
                        }
                        let id: ProfileID
                        do throws(ProfileIDError) { id = try ProfileID(parsing: text) } catch {
                            throw JSONFieldError(field: field, reason: error.description)
                        }
                        guard id.provider == provider else {
                            throw JSONFieldError(field: field, reason: "\(id) belongs to provider \"\(id.provider)\", not \"\(provider)\"")
                        }
                        ids.append(id)
                    }
                    self.auth.order[provider] = ids
                }
            }
            if var cooldowns = try auth.object("cooldowns") {
                func seconds(_ key: String, unit: Double) throws(JSONFieldError) -> Duration? {
                    guard let value = try cooldowns.double(key) else { return nil }
                    guard value > 0, let ms = ISO8601.millis(fromSeconds: value * unit), ms <= 366 * 86_400_000 else {
                        throw JSONFieldError(field: cooldowns.fieldPath(key), reason: "must be greater than 0 and at most a year")
                    }
                    return .milliseconds(ms)
                }
                if let list = try cooldowns.array("transientSeconds") {
                    var steps: [Duration] = []
                    for (index, element) in list.enumerated() {
                        guard let value = element.doubleValue, value > 0, let ms = ISO8601.millis(fromSeconds: value), ms <= 86_400_000 else {
                            throw JSONFieldError(field: "\(cooldowns.fieldPath("transientSeconds"))[\(index)]", reason: "expected a number of seconds greater than 0 and at most a day")
                        }
                        steps.append(.milliseconds(ms))
                    }
                    guard !steps.isEmpty else {
                        throw JSONFieldError(field: cooldowns.fieldPath("transientSeconds"), reason: "must hold at least one step")
                    }
                    self.auth.cooldowns.transient = steps
                }
                if let d = try seconds("authBaseMinutes", unit: 60) { self.auth.cooldowns.authBase = d }
                if let d = try seconds("authMaxMinutes", unit: 60) { self.auth.cooldowns.authMax = d }
                if let d = try seconds("billingBaseMinutes", unit: 60) { self.auth.cooldowns.billingBase = d }
                if let d = try seconds("billingMaxHours", unit: 3600) { self.auth.cooldowns.billingMax = d }
                if let d = try seconds("failureWindowHours", unit: 3600) { self.auth.cooldowns.failureWindow = d }
                try cooldowns.rejectUnknownKeys(known: ["transientSeconds", "authBaseMinutes", "authMaxMinutes", "billingBaseMinutes", "billingMaxHours", "failureWindowHours"])
            }
            if let margin = try auth.double("refreshMarginSeconds") {
                guard let ms = ISO8601.millis(fromSeconds: margin), ms <= 86_400_000 else {
                    throw JSONFieldError(field: auth.fieldPath("refreshMarginSeconds"), reason: "must be from 0 to 86400 seconds")
                }
                self.auth.refreshMargin = .milliseconds(ms)
            }
            try auth.rejectUnknownKeys(known: ["order", "cooldowns", "refreshMarginSeconds"])
        }

        if var pairing = try root.object("pairing") {
            if var auto = try pairing.object("autoApprove") {
                if let local = try auto.bool("local") { self.pairing.autoApproveLocal = local }
                if let rules = try auto.array("rules") {
                    for (index, element) in rules.enumerated() {
                        var rule = try JSONFieldReader(element, path: "\(auto.fieldPath("rules"))[\(index)]")
                        let mode = try rule.string("clientMode")
                        let scopes = try rule.stringArray("maxScopes") ?? []
                        self.pairing.rules.append(Pairing.Rule(clientMode: mode, maxScopes: scopes))
                        try rule.rejectUnknownKeys(known: ["clientMode", "maxScopes"])
                    }
                }
                try auto.rejectUnknownKeys(known: ["local", "rules"])
            }
            try pairing.rejectUnknownKeys(known: ["autoApprove"])
        }

        if var store = try root.object("store") {
            if let kind = try store.string("kind") {
                guard let parsed = StoreKind(rawValue: kind) else {
                    throw JSONFieldError(field: store.fieldPath("kind"), reason: "unknown store kind \"\(kind)\"; expected \"file\" or \"postgres\"")
                }
                self.storeKind = parsed
            }
            self.storeURL = try store.string("url")
            try store.rejectUnknownKeys(known: ["kind", "url"])
        }

        try root.rejectUnknownKeys(known: ["gateway", "agents", "providers", "auth", "pairing", "store"])
    }

    private static func decodeProvider(_ value: JSONValue, path: String, isBuiltin: Bool) throws(JSONFieldError) -> Provider {
        var reader = try JSONFieldReader(value, path: path)
        var provider = Provider()
        if let api = try reader.string("api") {
            guard let parsed = WireAPI(rawValue: api) else {
                throw JSONFieldError(field: reader.fieldPath("api"), reason: "unknown wire API \"\(api)\"; expected \"openai-chat\" or \"anthropic-messages\"")
            }
            provider.api = parsed
        }
        if let url = try reader.string("baseUrl", nonEmpty: true) {
            guard url.hasPrefix("http://") || url.hasPrefix("https://") else {
                throw JSONFieldError(field: reader.fieldPath("baseUrl"), reason: "must start with http:// or https://, found \"\(url)\"")
            }
            provider.baseURL = url
        }
        if let auth = try reader.string("auth") {
            guard let parsed = AuthHeaderStyle(rawValue: auth) else {
                throw JSONFieldError(field: reader.fieldPath("auth"), reason: "unknown auth style \"\(auth)\"; expected \"bearer\" or \"x-api-key\"")
            }
            provider.auth = parsed
        }
        provider.envKeys = try reader.stringArray("envKeys")
        provider.requiresAuth = try reader.bool("requiresAuth")
        if var oauth = try reader.object("oauth") {
            var settings = OAuth()
            settings.tokenURL = try oauth.string("tokenUrl", nonEmpty: true)
            settings.clientID = try oauth.string("clientId", nonEmpty: true)
            if let encoding = try oauth.string("encoding") {
                guard let parsed = OAuth.Encoding(rawValue: encoding) else {
                    throw JSONFieldError(field: oauth.fieldPath("encoding"), reason: "expected \"form\" or \"json\", found \"\(encoding)\"")
                }
                settings.encoding = parsed
            }
            settings.scopes = try oauth.stringArray("scopes")
            settings.authorizeURL = try oauth.string("authorizeUrl", nonEmpty: true)
            settings.deviceAuthorizationURL = try oauth.string("deviceAuthorizationUrl", nonEmpty: true)
            try oauth.rejectUnknownKeys(known: ["tokenUrl", "clientId", "encoding", "scopes", "authorizeUrl", "deviceAuthorizationUrl"])
            provider.oauth = settings
        }
        if let models = try reader.array("models") {
            var list: [Model] = []
            for (index, element) in models.enumerated() {
                var model = try JSONFieldReader(element, path: "\(reader.fieldPath("models"))[\(index)]")
                guard let id = try model.string("id", nonEmpty: true) else {
                    throw JSONFieldError(field: model.fieldPath("id"), reason: "missing; every model needs an id")
                }
                let window = try model.int("contextWindow")
                list.append(Model(id: id, name: try model.string("name"), contextWindow: window.map { Int($0) }))
                try model.rejectUnknownKeys(known: ["id", "name", "contextWindow"])
            }
            provider.models = list
        }
        try reader.rejectUnknownKeys(known: ["api", "baseUrl", "auth", "envKeys", "requiresAuth", "oauth", "models"])
        if !isBuiltin && provider.baseURL == nil {
            throw JSONFieldError(field: reader.fieldPath("baseUrl"), reason: "a provider that is not built in needs a baseUrl")
        }
        return provider
    }

    /// Replaces `${VAR}` in every string of a JSON value.
    static func expandVariables(_ value: JSONValue, path: String, environment: [String: String]) throws(JSONFieldError) -> JSONValue {
        switch value {
        case .string(let text):
            guard text.contains("${") else { return value }
            var result = ""
            var rest = Substring(text)
            while let start = rest.firstRange(of: "${") {
                result += rest[..<start.lowerBound]
                guard let end = rest[start.upperBound...].firstIndex(of: "}") else {
                    throw JSONFieldError(field: path, reason: "unterminated ${ in \"\(text)\"")
                }
                let name = String(rest[start.upperBound..<end])
                guard let replacement = environment[name] else {
                    throw JSONFieldError(field: path, reason: "environment variable \(name) is not set")
                }
                result += replacement
                rest = rest[rest.index(after: end)...]
            }
            return .string(result + rest)
        case .array(let array):
            var out: [JSONValue] = []
            out.reserveCapacity(array.count)
            for (index, element) in array.enumerated() {
                out.append(try expandVariables(element, path: "\(path)[\(index)]", environment: environment))
            }
            return .array(out)
        case .object(let object):
            var out: [String: JSONValue] = [:]
            for (key, element) in object {
                out[key] = try expandVariables(element, path: JSONFieldReader.fieldPath(key, in: path), environment: environment)
            }
            return .object(out)
        default:
            return value
        }
    }
}
