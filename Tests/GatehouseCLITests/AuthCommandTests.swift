import Foundation
import GatehouseCore
import GatehouseStore
import GatehouseTestSupport
import Testing

/// The `gatehouse auth` commands, run as a user runs them: the real binary on a temporary home.
@Suite("gatehouse auth")
struct AuthCommandTests {
    static let secret = "sk-ant-api03-VERYSECRETVALUE"

    private func profilesFile(_ dir: TemporaryDirectory) -> String {
        dir.home.authProfilesPath("main")
    }

    private func listJSON(_ dir: TemporaryDirectory, _ extra: [String] = [], environment: [String: String] = [:]) async throws -> [JSONValue] {
        let result = try await gatehouse(home: dir.home.path, ["auth", "list", "--json"] + extra, environment: environment)
        #expect(result.status == 0, "auth list failed: \(result.stderr)")
        let json = try JSONValue.parse(result.stdout)
        return try #require(json["profiles"]?.arrayValue)
    }

    @Test("adds one profile of each kind and lists them without secrets")
    func addEveryKind() async throws {
        try await withTemporaryDirectory { dir in
            let home = dir.home.path
            var result = try await gatehouse(home: home, ["auth", "add", "anthropic", "--name", "work", "--api-key-stdin"], stdin: Self.secret + "\n")
            #expect(result.status == 0, "\(result.stderr)")
            #expect(result.stdout == "anthropic:work\n")

            result = try await gatehouse(home: home, ["auth", "add", "openai", "--api-key-env", "GH_TEST_OPENAI"])
            #expect(result.status == 0)
            #expect(result.stdout == "openai:default\n")
            #expect(result.stderr.contains("env:GH_TEST_OPENAI does not resolve"))

            result = try await gatehouse(
                home: home, ["auth", "add", "openrouter", "--name", "bot", "--token-stdin", "--expires", "2020-01-01T00:00:00Z"],
                stdin: "tok-SECRET-openrouter")
            #expect(result.status == 0, "\(result.stderr)")

            let login = dir.path + "/login.json"
            try #"{"access":"acc-SECRET","refresh":"ref-SECRET","expires":"2099-01-01T00:00:00Z","email":"me@example.com","accountId":"acct-1"}"#
                .write(toFile: login, atomically: true, encoding: .utf8)
            result = try await gatehouse(home: home, ["auth", "add", "xai", "--name", "me", "--oauth-json", login, "--json"])
            #expect(result.status == 0, "\(result.stderr)")
            let added = try JSONValue.parse(result.stdout)
            #expect(added["id"] == "xai:me")
            #expect(added["type"] == "oauth")
            #expect(added["fingerprint"]?.stringValue == Fingerprint.of("acc-SECRET"))

            let profiles = try await listJSON(dir, environment: ["GH_TEST_OPENAI": "sk-openai-SECRET"])
            let byID = Dictionary(uniqueKeysWithValues: profiles.compactMap { p in p["id"]?.stringValue.map { ($0, p) } })
            #expect(byID["anthropic:work"]?["type"] == "api_key")
            #expect(byID["anthropic:work"]?["state"] == "ok")
            #expect(byID["anthropic:work"]?["fingerprint"]?.stringValue == Fingerprint.of(Self.secret))
            #expect(byID["openai:default"]?["state"] == "ok")
            #expect(byID["openai:default"]?["fingerprint"]?.stringValue == Fingerprint.of("sk-openai-SECRET"))
            #expect(byID["openrouter:bot"]?["state"] == "expired")
            #expect(byID["openrouter:bot"]?["expires"] == "2020-01-01T00:00:00.000Z")
            #expect(byID["xai:me"]?["email"] == "me@example.com")
            #expect(byID["xai:me"]?["state"] == "ok")

            // Without the variable the reference does not resolve.
            let unresolved = try await listJSON(dir)
            #expect(unresolved.first { $0["id"] == "openai:default" }?["state"] == "unresolved_ref")

            // The stored reference is a reference, not a value; the file is 0600.
            let stored = try JSONValue.parse(try String(contentsOfFile: profilesFile(dir), encoding: .utf8))
            #expect(stored["profiles"]?["openai:default"]?["keyRef"] == ["source": "env", "id": "GH_TEST_OPENAI"])
            #expect(stored["profiles"]?["openai:default"]?["key"] == nil)
            let attributes = try FileManager.default.attributesOfItem(atPath: profilesFile(dir))
            #expect((attributes[.posixPermissions] as? Int) == 0o600)

            // No command output ever carries a secret.
            let table = try await gatehouse(home: home, ["auth", "list"], environment: ["GH_TEST_OPENAI": "sk-openai-SECRET"])
            let json = try await gatehouse(home: home, ["auth", "list", "--json"], environment: ["GH_TEST_OPENAI": "sk-openai-SECRET"])
            for output in [table.stdout, table.stderr, json.stdout, json.stderr] {
                for secret in [Self.secret, "sk-openai-SECRET", "tok-SECRET", "acc-SECRET", "ref-SECRET"] {
                    #expect(!output.contains(secret), "a listing printed a secret")
                }
            }
            #expect(table.stdout.contains("anthropic:work"))
            #expect(table.stdout.contains(Fingerprint.of(Self.secret)))
        }
    }

    @Test("an existing id is refused unless --replace")
    func replace() async throws {
        try await withTemporaryDirectory { dir in
            let home = dir.home.path
            _ = try await gatehouse(home: home, ["auth", "add", "anthropic", "--api-key-stdin"], stdin: "first-key")
            let again = try await gatehouse(home: home, ["auth", "add", "anthropic", "--api-key-stdin"], stdin: "second-key")
            #expect(again.status != 0)
            #expect(again.stderr.contains("already exists"))
            #expect(again.stderr.contains("--replace"))
            #expect(try await listJSON(dir).first?["fingerprint"]?.stringValue == Fingerprint.of("first-key"))

            let replaced = try await gatehouse(home: home, ["auth", "add", "anthropic", "--api-key-stdin", "--replace"], stdin: "second-key")
            #expect(replaced.status == 0)
            #expect(try await listJSON(dir).first?["fingerprint"]?.stringValue == Fingerprint.of("second-key"))
        }
    }

    @Test("bad arguments get clear errors", arguments: [
        (["auth", "add", "antropic", "--api-key-stdin"], "unknown provider 'antropic'"),
        (["auth", "add", "anthropic"], "exactly one of"),
        (["auth", "add", "anthropic", "--api-key-stdin", "--token-stdin"], "exactly one of"),
        (["auth", "add", "anthropic", "--name", "env", "--api-key-stdin"], "reserved"),
        (["auth", "add", "anthropic", "--name", "bad name", "--api-key-stdin"], "invalid profile id"),
        (["auth", "add", "anthropic", "--api-key-stdin", "--expires", "2030-01-01"], "--expires goes with --token-stdin"),
        (["auth", "add", "anthropic", "--token-stdin", "--expires", "tomorrow"], "not an ISO-8601 time"),
        (["auth", "add", "anthropic", "--api-key-env", "NOT A VAR"], "name of a variable"),
        (["auth", "add", "anthropic", "--oauth-json", "/nonexistent/login.json"], "no such file"),
        (["auth", "remove", "anthropic:nothing"], "no profile anthropic:nothing"),
        (["auth", "remove", "anthropic:env"], "read-only"),
        (["auth", "list", "--agent", "ghost"], "unknown agent 'ghost'"),
        (["auth", "list", "--agent", "Bad/Agent"], "invalid agent id"),
    ])
    func badArguments(arguments: [String], expected: String) async throws {
        try await withTemporaryDirectory { dir in
            let result = try await gatehouse(home: dir.home.path, arguments, stdin: "some-key")
            #expect(result.status != 0)
            #expect(result.stderr.contains(expected), "stderr was: \(result.stderr)")
        }
    }

    @Test("an empty secret on standard input is refused")
    func emptyStdin() async throws {
        try await withTemporaryDirectory { dir in
            let result = try await gatehouse(home: dir.home.path, ["auth", "add", "anthropic", "--api-key-stdin"], stdin: "\n")
            #expect(result.status != 0)
            #expect(result.stderr.contains("no API key on standard input"))
            #expect(!FileManager.default.fileExists(atPath: profilesFile(dir)))
        }
    }

    @Test("a malformed OAuth login file names the position")
    func malformedOAuthJSON() async throws {
        try await withTemporaryDirectory { dir in
            let login = dir.path + "/login.json"
            try "{\n  \"access\": \"a\",\n  \"refresh\": \n}".write(toFile: login, atomically: true, encoding: .utf8)
            var result = try await gatehouse(home: dir.home.path, ["auth", "add", "xai", "--oauth-json", login])
            #expect(result.status != 0)
            #expect(result.stderr.contains("\(login): line 4, column 1"), "stderr was: \(result.stderr)")
            try #"{"access":"a","refersh":"typo"}"#.write(toFile: login, atomically: true, encoding: .utf8)
            result = try await gatehouse(home: dir.home.path, ["auth", "add", "xai", "--oauth-json", login])
            #expect(result.status != 0)
            #expect(result.stderr.contains("refersh"), "stderr was: \(result.stderr)")
        }
    }

    @Test("remove takes the profile out of the credentials and the routing state")
    func remove() async throws {
        try await withTemporaryDirectory { dir in
            let home = dir.home.path
            _ = try await gatehouse(home: home, ["auth", "add", "anthropic", "--api-key-stdin"], stdin: "k1")
            _ = try await gatehouse(home: home, ["auth", "add", "anthropic", "--name", "backup", "--api-key-stdin"], stdin: "k2")
            let order = try await gatehouse(home: home, ["auth", "order", "anthropic", "anthropic:backup", "anthropic:default"])
            #expect(order.status == 0, "\(order.stderr)")
            let removed = try await gatehouse(home: home, ["auth", "remove", "anthropic:backup"])
            #expect(removed.status == 0)
            #expect(removed.stdout == "removed anthropic:backup\n")
            #expect(try await listJSON(dir).compactMap { $0["id"]?.stringValue } == ["anthropic:default"])
            let shown = try await gatehouse(home: home, ["auth", "order", "anthropic", "--json"])
            let json = try JSONValue.parse(shown.stdout)
            #expect(json["order"] == ["anthropic:default"])
            #expect(json["source"] == "agent")
        }
    }

    @Test("order: default, configured, the agent's own, refusals, clear")
    func order() async throws {
        try await withTemporaryDirectory { dir in
            let home = dir.home.path
            _ = try await gatehouse(home: home, ["auth", "add", "anthropic", "--api-key-stdin"], stdin: "k1")
            let login = dir.path + "/login.json"
            try #"{"access":"a","refresh":"r","expires":4102444800000}"#.write(toFile: login, atomically: true, encoding: .utf8)
            _ = try await gatehouse(home: home, ["auth", "add", "anthropic", "--name", "me", "--oauth-json", login])

            func show() async throws -> JSONValue {
                let result = try await gatehouse(home: home, ["auth", "order", "anthropic", "--json"], environment: ["ANTHROPIC_API_KEY": "env-key"])
                #expect(result.status == 0, "\(result.stderr)")
                return try JSONValue.parse(result.stdout)
            }
            // Default: OAuth before API keys, the environment key last.
            var shown = try await show()
            #expect(shown["source"] == "default")
            #expect(shown["order"] == ["anthropic:me", "anthropic:default", "anthropic:env"])

            try #"{"auth":{"order":{"anthropic":["anthropic:default","anthropic:me"]}}}"#
                .write(toFile: dir.home.configurationPath, atomically: true, encoding: .utf8)
            shown = try await show()
            #expect(shown["source"] == "config")
            #expect(shown["order"] == ["anthropic:default", "anthropic:me"])

            var result = try await gatehouse(home: home, ["auth", "order", "anthropic", "anthropic:me", "anthropic:ghost"])
            #expect(result.status != 0)
            #expect(result.stderr.contains("unknown profile anthropic:ghost"))
            result = try await gatehouse(home: home, ["auth", "order", "anthropic", "openai:default"])
            #expect(result.stderr.contains("belongs to provider openai"))
            result = try await gatehouse(home: home, ["auth", "order", "anthropic", "anthropic:me", "anthropic:me"])
            #expect(result.stderr.contains("listed twice"))

            result = try await gatehouse(home: home, ["auth", "order", "anthropic", "anthropic:me"])
            #expect(result.status == 0)
            #expect(result.stdout.contains("1. anthropic:me"))
            shown = try await show()
            #expect(shown["source"] == "agent")
            #expect(shown["order"] == ["anthropic:me"])

            result = try await gatehouse(home: home, ["auth", "order", "anthropic", "--clear"])
            #expect(result.status == 0)
            #expect(try await show()["source"] == "config")
        }
    }

    @Test("a credential file that does not parse fails every command that needs it and is left unchanged")
    func malformedFileUntouched() async throws {
        try await withTemporaryDirectory { dir in
            let home = dir.home.path
            _ = try await gatehouse(home: home, ["auth", "add", "anthropic", "--api-key-stdin"], stdin: "k1")
            let broken = "{\n  \"version\": 1,\n  \"profiles\": {\n    \"anthropic:default\": {\"type\": \"api_key\" \"key\": \"k\"}\n  }\n}\n"
            try broken.write(toFile: profilesFile(dir), atomically: true, encoding: .utf8)
            let before = try Data(contentsOf: URL(fileURLWithPath: profilesFile(dir)))
            for arguments in [
                ["auth", "list"], ["auth", "add", "openai", "--api-key-stdin"], ["auth", "remove", "anthropic:default"],
                ["auth", "order", "anthropic", "anthropic:default"],
            ] {
                let result = try await gatehouse(home: home, arguments, stdin: "k2")
                #expect(result.status != 0, "\(arguments) succeeded on a broken file")
                #expect(result.stderr.contains("\(profilesFile(dir)): line 4, column 45"), "\(arguments): \(result.stderr)")
            }
            let after = try Data(contentsOf: URL(fileURLWithPath: profilesFile(dir)))
            #expect(before == after)
        }
    }

    @Test("entries that cannot be used are listed as invalid and kept")
    func invalidEntries() async throws {
        try await withTemporaryDirectory { dir in
            let home = dir.home.path
            _ = try await gatehouse(home: home, ["auth", "add", "anthropic", "--api-key-stdin"], stdin: "k1")
            var document = try JSONValue.parse(try String(contentsOfFile: profilesFile(dir), encoding: .utf8)).objectValue!
            var profiles = document["profiles"]!.objectValue!
            profiles["anthropic:weird"] = ["type": "magic", "provider": "anthropic", "note": "kept"]
            profiles["openai:noprovider"] = ["type": "api_key", "key": "x"]
            document["profiles"] = .object(profiles)
            try JSONValue.object(document).serializedString().write(toFile: profilesFile(dir), atomically: true, encoding: .utf8)

            let listed = try await listJSON(dir)
            let weird = try #require(listed.first { $0["id"] == "anthropic:weird" })
            #expect(weird["state"] == "invalid")
            #expect(weird["problem"]?.stringValue?.contains("unknown type \"magic\"") == true)
            #expect(listed.first { $0["id"] == "openai:noprovider" }?["state"] == "invalid")

            // A write of another profile keeps both entries exactly.
            let added = try await gatehouse(home: home, ["auth", "add", "xai", "--api-key-stdin"], stdin: "k3")
            #expect(added.status == 0)
            let stored = try JSONValue.parse(try String(contentsOfFile: profilesFile(dir), encoding: .utf8))
            #expect(stored["profiles"]?["anthropic:weird"] == ["type": "magic", "provider": "anthropic", "note": "kept"])
            #expect(stored["profiles"]?["openai:noprovider"] == ["type": "api_key", "key": "x"])
        }
    }

    @Test("the provider key in the environment is the read-only profile <provider>:env")
    func environmentProfile() async throws {
        try await withTemporaryDirectory { dir in
            let listed = try await listJSON(dir, environment: ["XAI_API_KEY": "xai-env-SECRET"])
            let env = try #require(listed.first { $0["id"] == "xai:env" })
            #expect(env["source"] == "env")
            #expect(env["state"] == "ok")
            #expect(env["fingerprint"]?.stringValue == Fingerprint.of("xai-env-SECRET"))
        }
    }
}
