import Foundation
import GatehouseCore
import GatehouseStore
import GatehouseTestSupport
import Testing

/// `gatehouse auth login`, `auth import` and `auth token`, run as a person runs them, against the mock.
@Suite("gatehouse auth login, import, token", .serialized)
struct LoginCommandTests {
    private func configure(_ dir: TemporaryDirectory, _ mock: MockProvider) throws {
        try dir.home.create()
        let config: JSONValue = ["providers": ["acme": mock.providerEntry()]]
        try AtomicFile.write(config.serialized(), to: dir.home.configurationPath)
    }

    /// Starts `gatehouse auth login` and returns it with the URL it printed.
    private func startLogin(_ dir: TemporaryDirectory, _ extra: [String] = []) async throws -> (ChildProcess, String) {
        let child = try ChildProcess(productPath("gatehouse"), ["auth", "login", "acme", "--timeout", "20"] + extra + ["--home", dir.home.path])
        for _ in 0..<200 {
            if let url = child.stderrSoFar.split(whereSeparator: \.isWhitespace).first(where: { $0.contains("/oauth/authorize?") }) {
                return (child, String(url))
            }
            try await Task.sleep(for: .milliseconds(25))
        }
        child.signal(SIGKILL)
        throw MockProviderError(description: "no URL printed: \(child.stderrSoFar)")
    }

    /// Plays the browser: opens the URL and follows the redirect to the login's listener.
    private func browse(_ url: String) async throws -> String {
        let script = "import sys, urllib.request\nprint(urllib.request.urlopen(sys.argv[1], timeout=10).read().decode())"
        let result = try await run(PythonLockHolder.python ?? "/usr/bin/python3", ["-c", script, url])
        return result.stdout + result.stderr
    }

    @Test("PKCE login end to end: the profile is named after the account and works")
    func pkceLogin() async throws {
        try await MockProvider.with { mock in
            try await withTemporaryDirectory { dir in
                try configure(dir, mock)
                let (child, url) = try await startLogin(dir)
                #expect(url.contains("code_challenge_method=S256"))
                #expect(url.contains("redirect_uri=http%3A%2F%2F127.0.0.1%3A"))
                #expect(try await browse(url + "&login_hint=pat%40example.com").contains("Logged in"))
                let result = await child.wait()
                #expect(result.status == 0, "\(result.stderr)")
                #expect(result.stdout == "acme:pat@example.com\n")
                let counters = try await mock.counters()
                #expect(counters["oauth.authorization_code"] == 1)

                let token = try await gatehouse(home: dir.home.path, ["auth", "token", "acme:pat@example.com"])
                #expect(token.status == 0)
                #expect(token.stdout.hasPrefix("mock-at-"))
            }
        }
    }

    @Test("a redirect with the wrong state stores nothing")
    func wrongState() async throws {
        try await MockProvider.with { mock in
            try await withTemporaryDirectory { dir in
                try configure(dir, mock)
                try await mock.post("/admin/config", ["authorizeBehavior": "wrong-state"])
                let (child, url) = try await startLogin(dir)
                _ = try await browse(url)
                let result = await child.wait()
                #expect(result.status != 0)
                #expect(result.stderr.contains("state does not match"))
                #expect(try await mock.counters()["oauth.authorization_code", default: 0] == 0, "no code may be exchanged")
                #expect(!FileManager.default.fileExists(atPath: dir.home.authProfilesPath("main")))
            }
        }
    }

    @Test("a denied authorization fails with the provider's reason")
    func denied() async throws {
        try await MockProvider.with { mock in
            try await withTemporaryDirectory { dir in
                try configure(dir, mock)
                try await mock.post("/admin/config", ["authorizeBehavior": "deny"])
                let (child, url) = try await startLogin(dir)
                #expect(try await browse(url).contains("did not complete"))
                let result = await child.wait()
                #expect(result.status != 0)
                #expect(result.stderr.contains("access_denied"))
            }
        }
    }

    @Test("device login: shows the code, honours slow_down, stores the login")
    func deviceLogin() async throws {
        try await MockProvider.with { mock in
            try await withTemporaryDirectory { dir in
                try configure(dir, mock)
                try await mock.post("/admin/config", ["deviceSlowDowns": 1, "deviceIntervalSeconds": 1])
                let child = try ChildProcess(productPath("gatehouse"), ["auth", "login", "acme", "--device", "--name", "box", "--home", dir.home.path])
                var code: String?
                for _ in 0..<200 where code == nil {
                    code = child.stderrSoFar.split(whereSeparator: \.isWhitespace).first { $0.hasPrefix("MOCK-") }.map(String.init)
                    try await Task.sleep(for: .milliseconds(25))
                }
                let userCode = try #require(code)
                try await Task.sleep(for: .milliseconds(1_500))
                try await mock.post("/admin/device/decide", ["userCode": .string(userCode), "decision": "approve"])
                let result = await child.wait()
                #expect(result.status == 0, "\(result.stderr)")
                #expect(result.stdout == "acme:box\n")
                let counters = try await mock.counters()
                #expect(counters["oauth.device.slow_down"] == 1)
                // After slow_down the interval grows by 5 s: the approval is picked up by a later poll.
                #expect(counters["oauth.device.poll", default: 0] >= 2)
            }
        }
    }

    @Test("device login denied")
    func deviceDenied() async throws {
        try await MockProvider.with { mock in
            try await withTemporaryDirectory { dir in
                try configure(dir, mock)
                let child = try ChildProcess(productPath("gatehouse"), ["auth", "login", "acme", "--device", "--home", dir.home.path])
                var code: String?
                for _ in 0..<200 where code == nil {
                    code = child.stderrSoFar.split(whereSeparator: \.isWhitespace).first { $0.hasPrefix("MOCK-") }.map(String.init)
                    try await Task.sleep(for: .milliseconds(25))
                }
                try await mock.post("/admin/device/decide", ["userCode": .string(try #require(code)), "decision": "deny"])
                let result = await child.wait()
                #expect(result.status != 0)
                #expect(result.stderr.contains("denied"))
            }
        }
    }

    @Test("logging in again replaces the credential and ends an auth window")
    func reloginEndsWindow() async throws {
        try await MockProvider.with { mock in
            try await withTemporaryDirectory { dir in
                try configure(dir, mock)
                let store = try AgentStore(home: dir.home, agentID: "main")
                let id = try ProfileID(parsing: "acme:user@example.com")
                try await store.saveLogin(id, credential: OAuthCredential(access: "old", refresh: "old-rt", expires: fromNow(3_600_000)))
                try await store.recordFailure(
                    id, classification: .init(reason: .authPermanent), credentialFingerprint: Fingerprint.of("old"), policy: CooldownPolicy())
                #expect(try store.state.read().stats(for: id).disabledReason == .authPermanent)
                let (child, url) = try await startLogin(dir)
                _ = try await browse(url)
                let result = await child.wait()
                #expect(result.status == 0, "\(result.stderr)")
                #expect(try store.state.read().stats(for: id).disabledReason == nil)
                guard case .oauth(let credential) = try store.profiles.read().profiles[id]?.credential else { Issue.record("no login"); return }
                #expect(credential.access != "old")
            }
        }
    }

    @Test("auth token: a rejected refresh disables the profile and says to log in")
    func tokenLoginRequired() async throws {
        try await MockProvider.with { mock in
            try await withTemporaryDirectory { dir in
                try configure(dir, mock)
                let store = try AgentStore(home: dir.home, agentID: "main")
                let id = try ProfileID(parsing: "acme:me")
                try await store.saveLogin(id, credential: OAuthCredential(access: "old", refresh: "revoked", expires: fromNow(-1_000)))
                let result = try await gatehouse(home: dir.home.path, ["auth", "token", "acme:me"])
                #expect(result.status != 0)
                #expect(result.stdout.isEmpty)
                #expect(result.stderr.contains("gatehouse auth login acme"))
                #expect(try store.state.read().stats(for: id).disabledReason == .authPermanent)
                let list = try await gatehouse(home: dir.home.path, ["auth", "list", "--json"])
                #expect(try JSONValue.parse(list.stdout)["profiles"]?.arrayValue?.first?["state"] == "disabled")
            }
        }
    }

    @Test("auth token prints API keys and refuses expired static tokens")
    func tokenOfOtherKinds() async throws {
        try await withTemporaryDirectory { dir in
            _ = try await gatehouse(home: dir.home.path, ["auth", "add", "openai", "--api-key-stdin"], stdin: "sk-test-1")
            var result = try await gatehouse(home: dir.home.path, ["auth", "token", "openai:default"])
            #expect(result.stdout == "sk-test-1\n")
            _ = try await gatehouse(home: dir.home.path, ["auth", "add", "xai", "--token-stdin", "--expires", "2020-01-01T00:00:00Z"], stdin: "tok")
            result = try await gatehouse(home: dir.home.path, ["auth", "token", "xai:default"])
            #expect(result.status != 0)
            #expect(result.stderr.contains("expired at 2020-01-01"))
        }
    }

    @Test("import: Claude Code and Codex logins, and files that are missing or malformed")
    func importLogins() async throws {
        try await withTemporaryDirectory { dir in
            let claude = dir.path + "/claude.json"
            try #"{"claudeAiOauth":{"accessToken":"sk-ant-oat01-AAA","refreshToken":"sk-ant-ort01-BBB","expiresAt":4102444800000,"scopes":["user:inference"],"subscriptionType":"max"}}"#
                .write(toFile: claude, atomically: true, encoding: .utf8)
            var result = try await gatehouse(home: dir.home.path, ["auth", "import", "claude", "--from", claude])
            #expect(result.status == 0, "\(result.stderr)")
            #expect(result.stdout == "anthropic:default\n")

            let claims = Base64URL.encode(Array(#"{"email":"dev@example.com","https://api.openai.com/auth":{"chatgpt_account_id":"acct-9"}}"#.utf8))
            let access = Base64URL.encode(Array(#"{"exp":4102444800}"#.utf8))
            let codexHome = dir.path + "/codex"
            try FileManager.default.createDirectory(atPath: codexHome, withIntermediateDirectories: true)
            try #"{"OPENAI_API_KEY":null,"tokens":{"id_token":"h.\#(claims).s","access_token":"h.\#(access).s","refresh_token":"rt-codex","account_id":"acct-9"},"last_refresh":"2026-11-01T00:00:00Z"}"#
                .write(toFile: codexHome + "/auth.json", atomically: true, encoding: .utf8)
            result = try await gatehouse(home: dir.home.path, ["auth", "import", "codex", "--json"], environment: ["CODEX_HOME": codexHome])
            #expect(result.status == 0, "\(result.stderr)")
            let json = try JSONValue.parse(result.stdout)
            #expect(json["id"] == "openai-codex:dev@example.com")
            #expect(json["expires"] == "2100-01-01T00:00:00.000Z")

            let list = try await gatehouse(home: dir.home.path, ["auth", "list", "--json"])
            let profiles = try #require(JSONValue.parse(list.stdout)["profiles"]?.arrayValue)
            #expect(profiles.map { $0["id"] } == ["anthropic:default", "openai-codex:dev@example.com"])
            #expect(!list.stdout.contains("sk-ant-oat01-AAA"))

            result = try await gatehouse(home: dir.home.path, ["auth", "import", "claude", "--from", dir.path + "/missing.json"])
            #expect(result.status != 0)
            #expect(result.stderr.contains("missing.json: no such file"))
            try "{\"claudeAiOauth\": {\"accessToken\": }".write(toFile: claude, atomically: true, encoding: .utf8)
            result = try await gatehouse(home: dir.home.path, ["auth", "import", "claude", "--from", claude])
            #expect(result.stderr.contains("line 1, column 35"), "\(result.stderr)")
            try #"{"somethingElse":{}}"#.write(toFile: claude, atomically: true, encoding: .utf8)
            result = try await gatehouse(home: dir.home.path, ["auth", "import", "claude", "--from", claude])
            #expect(result.stderr.contains("claudeAiOauth: missing"))
            try #"{"tokens":null}"#.write(toFile: codexHome + "/auth.json", atomically: true, encoding: .utf8)
            result = try await gatehouse(home: dir.home.path, ["auth", "import", "codex"], environment: ["CODEX_HOME": codexHome])
            #expect(result.stderr.contains("tokens: missing"))
        }
    }
}
