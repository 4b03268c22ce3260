import ArgumentParser
import GatehouseCore
import GatehouseStore

/// `gatehouse auth add`.
struct AuthAdd: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "add",
        abstract: "Add a credential to the agent and print its profile id.",
        discussion: """
            Give exactly one source of the secret:
              --api-key-env VAR    store a reference to the environment variable VAR (never its value)
              --api-key-file PATH  store a reference to a file holding the key
              --api-key-stdin      read an API key from standard input
              --token-stdin        read a static bearer token from standard input (optionally --expires)
              --oauth-json FILE    read an OAuth login {"access","refresh","expires","email",...} from FILE ('-' for stdin)
            Examples:
              printenv ANTHROPIC_KEY | gatehouse auth add anthropic --name work --api-key-stdin
              gatehouse auth add openai --api-key-env OPENAI_API_KEY
            """
    )

    @OptionGroup var global: GlobalOptions

    @Argument(help: "The provider, for example anthropic, openai, xai.")
    var provider: String

    @Option(name: .long, help: "The profile name (letters, digits, . _ - @ +).")
    var name = "default"

    @Option(name: .customLong("api-key-env"), help: ArgumentHelp("Reference an API key in this environment variable.", valueName: "VAR"))
    var apiKeyEnv: String?

    @Option(name: .customLong("api-key-file"), help: ArgumentHelp("Reference an API key in this file.", valueName: "path"))
    var apiKeyFile: String?

    @Flag(name: .customLong("api-key-stdin"), help: "Read an API key from standard input.")
    var apiKeyStdin = false

    @Flag(name: .customLong("token-stdin"), help: "Read a static bearer token from standard input.")
    var tokenStdin = false

    @Option(name: .long, help: ArgumentHelp("When the token expires (ISO-8601, e.g. 2026-12-31T00:00:00Z).", valueName: "time"))
    var expires: String?

    @Option(name: .customLong("oauth-json"), help: ArgumentHelp("Read an OAuth login from this JSON file ('-' for standard input).", valueName: "file"))
    var oauthJSON: String?

    @Flag(name: .long, help: "Replace the profile if it already exists.")
    var replace = false

    func validate() throws {
        let sources = [apiKeyEnv != nil, apiKeyFile != nil, apiKeyStdin, tokenStdin, oauthJSON != nil].filter { $0 }.count
        guard sources == 1 else {
            throw ValidationError("give exactly one of --api-key-env, --api-key-file, --api-key-stdin, --token-stdin, --oauth-json")
        }
        if expires != nil && !tokenStdin {
            throw ValidationError("--expires goes with --token-stdin")
        }
        if name == AuthProfile.environmentProfileName {
            throw ValidationError("the name 'env' is reserved for the read-only profile made from the provider's environment variable")
        }
    }

    func run() async throws {
        let context = try CommandContext(global)
        let id: ProfileID
        do {
            id = try ProfileID(provider: provider, name: name)
        } catch {
            throw CLIError(error.description)
        }
        guard context.providers[provider] != nil else {
            throw CLIError(
                "unknown provider '\(provider)'. Known providers: \(context.providers.keys.sorted().joined(separator: ", ")). A new provider is defined under \"providers\" in \(context.home.configurationPath).")
        }
        let credential = try readCredential(context)
        let profile = AuthProfile(id: id, credential: credential)
        try context.home.create()
        let store = try context.agentStore()
        let replaced = try await store.profiles.update(logger: context.logger) { document -> Bool in
            let exists = document.contains(id)
            if exists && !replace {
                throw CLIError("profile \(id) already exists in \(store.profiles.path); use --replace to replace it")
            }
            let previousExtra = document.profiles[id]?.extra ?? [:]
            document.invalidEntries[id.description] = nil
            document.profiles[id] = AuthProfile(id: id, credential: credential, extra: previousExtra)
            return exists
        }
        let fingerprint = profile.fingerprint(using: context.resolver)
        if context.options.json {
            Output.printJSON([
                "id": .string(id.description), "provider": .string(provider), "type": .string(profile.type.rawValue),
                "fingerprint": fingerprint.map(JSONValue.string) ?? .null, "replaced": .bool(replaced),
                "agent": .string(context.agentID),
            ])
        } else {
            print(id.description)
        }
        if case .unresolved(let ref) = profile.secret(using: context.resolver) {
            Output.note("\(ref) does not resolve here; the profile stays unusable until it does")
        }
    }

    private func readCredential(_ context: CommandContext) throws -> Credential {
        if let variable = apiKeyEnv {
            guard !variable.isEmpty, variable.unicodeScalars.allSatisfy({ $0 == "_" || ("A"..."Z").contains($0) || ("a"..."z").contains($0) || ("0"..."9").contains($0) }) else {
                throw CLIError("--api-key-env takes the name of a variable, such as ANTHROPIC_API_KEY, not '\(variable)'")
            }
            return .apiKey(APIKeyCredential(keyRef: SecretRef(source: .env, id: variable)))
        }
        if let path = apiKeyFile {
            return .apiKey(APIKeyCredential(keyRef: SecretRef(source: .file, id: GatehouseHome(path: path).path)))
        }
        if apiKeyStdin {
            return .apiKey(APIKeyCredential(key: try SecretInput.read(what: "API key")))
        }
        if tokenStdin {
            var expiresMillis: Int64?
            if let expires {
                guard let parsed = ISO8601.parse(expires) else {
                    throw CLIError("--expires: '\(expires)' is not an ISO-8601 time such as 2026-12-31T00:00:00Z")
                }
                expiresMillis = parsed
            }
            return .token(TokenCredential(token: try SecretInput.read(what: "token"), expires: expiresMillis))
        }
        return .oauth(try OAuthLoginFile.read(oauthJSON!))
    }
}

/// Reads an OAuth login given as JSON by `auth add --oauth-json`.
enum OAuthLoginFile {
    static func read(_ path: String) throws -> OAuthCredential {
        let bytes: [UInt8]
        let name = path == "-" ? "standard input" : path
        if path == "-" {
            bytes = Array(try SecretInput.readAllStandardInput().utf8)
        } else {
            guard let content = try FileIO.read(path) else { throw CLIError("\(path): no such file") }
            bytes = content
        }
        let json: JSONValue
        do {
            json = try JSONValue.parse(bytes)
        } catch {
            throw CLIError("\(name): line \(error.line), column \(error.column): \(error.message)")
        }
        do {
            var reader = try JSONFieldReader(json, path: "")
            var expires: Int64?
            if let value = reader.value("expires") {
                if let ms = value.intValue {
                    expires = ms
                } else if let text = value.stringValue, let ms = ISO8601.parse(text) {
                    expires = ms
                } else {
                    throw JSONFieldError(field: "expires", reason: "expected milliseconds since the epoch or an ISO-8601 time")
                }
            }
            let credential = OAuthCredential(
                access: try reader.string("access", nonEmpty: true), refresh: try reader.string("refresh", nonEmpty: true),
                expires: expires, email: try reader.string("email"), accountId: try reader.string("accountId"),
                clientId: try reader.string("clientId"))
            try reader.rejectUnknownKeys(known: ["access", "refresh", "expires", "email", "accountId", "clientId"])
            guard credential.access != nil || credential.refresh != nil else {
                throw JSONFieldError(field: "access", reason: "an OAuth login needs an access token, a refresh token, or both")
            }
            return credential
        } catch {
            throw CLIError("\(name): \(error)")
        }
    }
}
