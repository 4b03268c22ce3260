import GatehouseCore
import GatehouseStore
import GatehouseTestSupport
import Testing

extension StoreTests {
    /// Building a model view from an agent's files, the journal of this process's writes, and the
    /// generation guard with real files changing between builds.
    @Suite("model view source")
    struct ModelViewSourceTests {
        let providers = [
            ProviderDefinition(id: "openai", api: .openAIChat, baseURL: "https://api.openai.example/v1", auth: .bearer, envKeys: [], models: [.init(id: "gpt")]),
            ProviderDefinition(id: "xai", api: .openAIChat, baseURL: "https://api.x.example/v1", auth: .bearer, envKeys: [], models: [.init(id: "grok")]),
        ]

        func build(_ home: GatehouseHome, generation: UInt64 = 1) -> ModelViewSource.Built {
            ModelViewSource.build(
                agent: "main", generation: generation, home: home, catalog: EncodedModelCatalog(providers: providers), environmentProfiles: [],
                resolver: StaticSecretResolver(), now: WallClock.nowMillis())
        }

        func addKey(_ home: GatehouseHome, _ provider: String) async throws {
            let store = try AgentStore(home: home, agentID: "main")
            try await store.profiles.update { document in
                document.profiles[try ProfileID(provider: provider, name: "k")] = AuthProfile(
                    id: try ProfileID(provider: provider, name: "k"), credential: .apiKey(APIKeyCredential(key: "sk-\(provider)")))
            }
        }

        func ready(_ built: ModelViewSource.Built) throws -> [String] {
            try built.result.get().providers.filter(\.hasAuth).map(\.id)
        }

        @Test("A missing file is an agent without credentials; a present one is read once, with its digest")
        func buildsFromFile() async throws {
            try await withTemporaryDirectory { dir in
                let home = dir.home
                let empty = build(home)
                #expect(try ready(empty).isEmpty)
                #expect(empty.profilesDigest == StoreWriteJournal.digest(of: nil))

                try await addKey(home, "openai")
                let built = build(home)
                #expect(try ready(built) == ["openai"])
                #expect(built.profilesDigest == StoreWriteJournal.digest(of: readBytes(home.authProfilesPath("main"))))
            }
        }

        @Test("A credential file that does not parse gives an error naming the file and the line")
        func malformed() async throws {
            try await withTemporaryDirectory { dir in
                let home = dir.home
                try FileIO.makeDirectories(home.agentDirectory("main"))
                try writeText("{\n  \"profiles\": {,\n}", to: home.authProfilesPath("main"))
                let built = build(home)
                guard case .failure(let error) = built.result else {
                    Issue.record("built a view from a broken file")
                    return
                }
                #expect(error.message.contains(home.authProfilesPath("main")))
                #expect(error.message.contains("line 2"))
            }
        }

        @Test("The journal knows what this process wrote and announces it")
        func journal() async throws {
            try await withTemporaryDirectory { dir in
                let path = dir.path + "/file.json"
                let writes = StoreWriteJournal.shared.subscribe()
                try AtomicFile.write(Array(#"{"a":1}"#.utf8), to: path)
                #expect(StoreWriteJournal.shared.lastWritten(path) == StoreWriteJournal.digest(of: Array(#"{"a":1}"#.utf8)))
                #expect(StoreWriteJournal.digest(of: Array(#"{"a":1}"#.utf8)) != StoreWriteJournal.digest(of: Array(#"{"a":2}"#.utf8)))
                for await write in writes where write.path == path {
                    #expect(write.digest == StoreWriteJournal.shared.lastWritten(path))
                    break
                }
            }
        }

        @Test("Generation guard with real files: a slow build that read the old file never replaces the newer view")
        func slowBuildDoesNotPublish() async throws {
            try await withTemporaryDirectory { dir in
                let home = dir.home
                try await addKey(home, "openai")
                let registry = ModelViewRegistry()

                // A slow rebuild starts and reads the file as it is now...
                let slowGeneration = registry.beginBuild()
                let slow = build(home, generation: slowGeneration)
                #expect(try ready(slow) == ["openai"])

                // ...then the file changes, the change is announced, and a fast rebuild publishes it.
                try await addKey(home, "xai")
                registry.invalidate("main", reason: .externalEdit)
                let pending = registry.takePending()
                #expect(pending.map(\.agent) == ["main"])
                let fastGeneration = registry.beginBuild()
                let fast = build(home, generation: fastGeneration)
                #expect(registry.publish("main", generation: fastGeneration, result: fast.result, reason: .externalEdit))

                // The slow rebuild finishes last and is dropped.
                #expect(!registry.publish("main", generation: slowGeneration, result: slow.result, reason: .startup))
                let current = try #require(registry.entry(for: "main"))
                #expect(current.generation == fastGeneration)
                #expect(try current.result.get().providers.filter(\.hasAuth).map(\.id) == ["openai", "xai"])
            }
        }
    }
}
