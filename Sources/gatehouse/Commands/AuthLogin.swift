import ArgumentParser
import GatehouseCore
import GatehouseHTTP
import GatehouseStore

/// `gatehouse auth login`.
struct AuthLogin: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "login",
        abstract: "Log in to a provider with OAuth and store the login as a profile.",
        discussion: """
            Without --device: prints a URL to open in a browser, listens on 127.0.0.1 for the redirect, \
            checks its `state` and exchanges the code (authorization code with PKCE). With --device: \
            prints a code to enter on the provider's page and polls until you approve (RFC 8628). The \
            profile is named after the account e-mail when the provider says it, else `default`. \
            Logging in again replaces the credential and ends any auth window on the profile.
            """
    )

    @OptionGroup var global: GlobalOptions

    @Argument(help: "The provider, for example anthropic.")
    var provider: String

    @Option(name: .long, help: "The profile name (default: the account e-mail, else `default`).")
    var name: String?

    @Flag(name: .long, help: "Use the device authorization flow (for machines without a browser).")
    var device = false

    @Option(name: .long, help: "Give up after this many seconds.")
    var timeout: Int = 300

    func run() async throws {
        let context = try CommandContext(global)
        guard let provider = context.providers[provider] else {
            throw CLIError("unknown provider '\(self.provider)'. Known providers: \(context.providers.keys.sorted().joined(separator: ", "))")
        }
        guard let definition = provider.oauth, !definition.tokenURL.isEmpty, !definition.clientID.isEmpty else {
            throw CLIError("provider \(provider.id) has no OAuth settings; set providers.\(provider.id).oauth in \(context.home.configurationPath), or add an API key with `gatehouse auth add`")
        }
        let endpoint = HTTPTokenEndpoint()
        let flow = OAuthLoginFlow(definition: definition, endpoint: endpoint, timeout: .seconds(timeout))
        let tokens: TokenResponse
        if device {
            guard definition.deviceAuthorizationURL != nil else {
                throw CLIError("provider \(provider.id) has no device authorization endpoint; log in without --device")
            }
            tokens = try await flow.device { authorization in
                let link = authorization.verificationURIComplete ?? authorization.verificationURI
                FileHandleStandardError.write("To log in, open \(link)\nand enter the code: \(authorization.userCode)\nWaiting for approval...\n")
            }
        } else {
            guard definition.authorizeURL != nil else {
                throw CLIError("provider \(provider.id) has no authorization endpoint; try --device")
            }
            tokens = try await flow.authorizationCode { url in
                FileHandleStandardError.write("Open this URL in your browser to log in:\n\n  \(url)\n\nWaiting for the browser to come back...\n")
            }
        }
        let credential = OAuthCredential(
            access: tokens.accessToken, refresh: tokens.refreshToken, expires: tokens.expires ?? JWTClaims(token: tokens.accessToken)?.expires,
            email: tokens.email, accountId: tokens.accountID)
        let id = try LoginNaming.profileID(provider: provider.id, requested: name, email: tokens.email)
        try context.home.create()
        let replaced = try await context.agentStore().saveLogin(id, credential: credential, logger: context.logger)
        if context.options.json {
            Output.printJSON([
                "id": .string(id.description), "replaced": .bool(replaced), "email": tokens.email.map(JSONValue.string) ?? .null,
                "expires": Output.jsonTime(credential.expires),
            ])
        } else {
            print(id.description)
        }
    }
}
