import Foundation
import GatehouseCore
import GatehouseStore
import GatehouseTestSupport
import Testing

extension StoreTests {
    @Suite struct DocumentFileTests {
        static let malformedProfiles = """
            {
              "version": 1,
              "profiles": {
                "a:b": }

            """

        @Test func malformedFileNamesPathLineAndColumnAndIsNotChanged() async throws {
            try await withTemporaryDirectory { dir in
                let store = try AgentStore(home: dir.home, agentID: "main", lockOptions: shortLock())
                let path = store.profiles.path
                try writeText(Self.malformedProfiles, to: path)
                let before = readBytes(path)

                let readError = await storeError { try store.profiles.read() }
                #expect(readError?.code == .malformedFile)
                #expect(readError?.path == path)
                #expect(readError?.message.hasPrefix("\(path): line 4, column 12: unexpected character '}'") == true, "\(readError?.message ?? "")")

                var changeRan = false
                let updateError = await storeError {
                    try await store.profiles.update { document in
                        changeRan = true
                        document.profiles[try ProfileID(parsing: "openai:x")] = AuthProfile(
                            id: try ProfileID(parsing: "openai:x"), credential: .apiKey(APIKeyCredential(key: "k")))
                    }
                }
                #expect(updateError?.code == .malformedFile)
                #expect(updateError?.message.contains("\(path): line 4, column 12") == true, "\(updateError?.message ?? "")")
                #expect(!changeRan)
                #expect(readBytes(path) == before)
                #expect(directoryNames(FileIO.parentDirectory(of: path)) == ["auth-profiles.json"])
            }
        }

        @Test func wrongTypeIsInvalidContentNamingTheField() async throws {
            try await withTemporaryDirectory { dir in
                let store = try AgentStore(home: dir.home, agentID: "main", lockOptions: shortLock())
                let path = store.state.path
                try writeText(#"{"version":1,"usageStats":{"x:y":{"errorCount":"many"}}}"#, to: path)
                let before = readBytes(path)

                let readError = await storeError { try store.state.read() }
                #expect(readError?.code == .invalidContent)
                #expect(readError?.message.hasPrefix(#"\#(path): usageStats["x:y"].errorCount: expected an integer, found string"#) == true, "\(readError?.message ?? "")")

                let updateError = await storeError {
                    try await store.state.update { $0.usageStats["x:y"] = UsageStats(errorCount: 1) }
                }
                #expect(updateError?.code == .invalidContent)
                #expect(updateError?.message.contains(#"usageStats["x:y"].errorCount"#) == true)
                #expect(readBytes(path) == before)
            }
        }

        @Test func unknownFieldsSurviveAnUpdateOfAnotherProfile() async throws {
            try await withTemporaryDirectory { dir in
                let store = try AgentStore(home: dir.home, agentID: "main", lockOptions: shortLock())
                try writeText(
                    """
                    {
                      "version": 1,
                      "vendorExtension": {"keep": [1, 2.5, {"deep": true}], "s": "x"},
                      "profiles": {
                        "openai:work": {"type": "api_key", "provider": "openai", "key": "sk-1", "label": "Work", "meta": {"team": "x"}},
                        "anthropic:main": {"type": "token", "provider": "anthropic", "token": "t-1", "expires": 123, "note": "n"}
                      }
                    }
                    """, to: store.profiles.path)
                let original = try JSONValue.parse(#require(readBytes(store.profiles.path)))

                let main = try ProfileID(parsing: "anthropic:main")
                try await store.profiles.update { document in
                    document.profiles[main]?.credential = .token(TokenCredential(token: "t-2", expires: 456))
                }

                let after = try JSONValue.parse(#require(readBytes(store.profiles.path)))
                #expect(after["vendorExtension"] == original["vendorExtension"])
                #expect(after["profiles"]?["openai:work"] == original["profiles"]?["openai:work"])
                #expect(after["profiles"]?["anthropic:main"] == [
                    "type": "token", "provider": "anthropic", "token": "t-2", "expires": 456, "note": "n",
                ])
                #expect(try store.profiles.read().profiles[main]?.extra == ["note": "n"])

                // The same for routing state: unknown top-level and per-profile fields.
                try writeText(
                    #"{"version":1,"order":{},"lastGood":{},"schemaHint":{"a":[1]},"usageStats":{"openai:work":{"errorCount":2,"custom":{"a":1}}}}"#,
                    to: store.state.path)
                try await store.state.update { $0.usageStats["anthropic:main", default: UsageStats()].lastUsed = 99 }
                let state = try JSONValue.parse(#require(readBytes(store.state.path)))
                #expect(state["schemaHint"] == ["a": [1]])
                #expect(state["usageStats"]?["openai:work"] == ["errorCount": 2, "custom": ["a": 1]])
                #expect(state["usageStats"]?["anthropic:main"]?["lastUsed"] == 99)
            }
        }

        @Test func invalidEntriesAreReportedAndWrittenBackUnchanged() async throws {
            try await withTemporaryDirectory { dir in
                let store = try AgentStore(home: dir.home, agentID: "main", lockOptions: shortLock())
                try writeText(
                    """
                    {"version": 1, "profiles": {
                      "bogus:x": {"type": "magic", "provider": "bogus", "whatever": [1, {"k": null}]},
                      "anthropic:nop": {"type": "api_key", "key": "k-nop"},
                      "openai:ok": {"type": "api_key", "provider": "openai", "key": "k-ok"}
                    }}
                    """, to: store.profiles.path)
                let original = try JSONValue.parse(#require(readBytes(store.profiles.path)))

                let document = try store.profiles.read()
                #expect(Set(document.invalidEntries.keys) == ["bogus:x", "anthropic:nop"])
                #expect(document.invalidEntries["bogus:x"]?.problem.field == #"profiles["bogus:x"].type"#)
                #expect(document.invalidEntries["bogus:x"]?.problem.reason.contains(#"unknown type "magic""#) == true)
                #expect(document.invalidEntries["anthropic:nop"]?.problem.field == #"profiles["anthropic:nop"].provider"#)
                #expect(document.invalidEntries["anthropic:nop"]?.problem.reason.hasPrefix("missing") == true)
                #expect(document.profiles.keys.map(\.description) == ["openai:ok"])

                let added = try ProfileID(parsing: "openai:new")
                try await store.profiles.update { document in
                    document.profiles[added] = AuthProfile(id: added, credential: .apiKey(APIKeyCredential(key: "k-new")))
                }
                let after = try JSONValue.parse(#require(readBytes(store.profiles.path)))
                #expect(after["profiles"]?["bogus:x"] == original["profiles"]?["bogus:x"])
                #expect(after["profiles"]?["anthropic:nop"] == original["profiles"]?["anthropic:nop"])
                #expect(after["profiles"]?["openai:ok"] == original["profiles"]?["openai:ok"])
                #expect(after["profiles"]?["openai:new"] == ["type": "api_key", "provider": "openai", "key": "k-new"])
                #expect(Set(try store.profiles.read().invalidEntries.keys) == ["bogus:x", "anthropic:nop"])
            }
        }

        @Test func missingFileReadsEmptyAndUpdateCreatesIt() async throws {
            try await withTemporaryDirectory { dir in
                let store = try AgentStore(home: dir.home, agentID: "main", lockOptions: shortLock())
                #expect(try store.state.read() == AuthStateDocument())
                try await store.state.update { $0.lastGood["openai"] = "openai:a" }
                #expect(try store.state.read().lastGood == ["openai": "openai:a"])
                #expect(FileIO.mode(of: store.state.path) == 0o600)
                #expect(FileIO.mode(of: dir.home.agentDirectory("main")) == 0o700)
                #expect(directoryNames(dir.home.agentDirectory("main")) == ["auth-state.json"])
            }
        }

        @Test func updateThatChangesNothingDoesNotRewrite() async throws {
            try await withTemporaryDirectory { dir in
                let store = try AgentStore(home: dir.home, agentID: "main", lockOptions: shortLock())
                try await store.state.update { $0.lastGood["openai"] = "openai:a" }
                let before = try FileManager.default.attributesOfItem(atPath: store.state.path)[.systemFileNumber] as? Int
                try await store.state.update { _ in }
                let after = try FileManager.default.attributesOfItem(atPath: store.state.path)[.systemFileNumber] as? Int
                #expect(before != nil && before == after)
            }
        }
    }
}
