import ArgumentParser

/// `gatehouse auth`: the credentials of an agent.
struct AuthCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "auth",
        abstract: "Add, list, order and remove the credentials (auth profiles) of an agent.",
        discussion: """
            A profile id is <provider>:<name>, for example anthropic:default. Secrets are never printed: \
            listings show a fingerprint, the first 8 hex digits of the secret's SHA-256 \
            (compare with: printf %s "$KEY" | sha256sum).
            """,
        subcommands: [AuthAdd.self, AuthList.self, AuthStatus.self, AuthOrder.self, AuthReset.self, AuthRemove.self, AuthLogin.self, AuthImport.self, AuthToken.self]
    )
}
