import Foundation
import GatehouseCore
import GatehouseStore
import GatehouseTestSupport
import Glibc
import Logging
import Testing

@testable import GatehouseGateway

/// The gateway's model catalog in process: reads, coalesced rebuilds, and how it tells an outside
/// edit from a touch or from its own write.
@Suite("gateway: model catalog in process")
struct ModelCatalogTests {
    func withCatalog(_ body: (ModelCatalog, GatehouseHome) async throws -> Void) async throws {
        try await withTemporaryDirectory { dir in
            let home = dir.home
            try home.create()
            var configuration = GatehouseConfiguration()
            configuration.agents = [.init(id: "main", isDefault: true), .init(id: "helper")]
            let state = try GatewayState(home: home, configuration: configuration, environment: [:], logger: Logger(label: "test"))
            try await body(ModelCatalog(state: state, logger: Logger(label: "test")), home)
        }
    }

    func addKey(_ home: GatehouseHome, agent: String = "main", _ provider: String, key: String = "sk-1") async throws {
        let id = try ProfileID(provider: provider, name: "k")
        try await AgentStore(home: home, agentID: agent).profiles.update { document in
            document.profiles[id] = AuthProfile(id: id, credential: .apiKey(APIKeyCredential(key: key)))
        }
    }

    func hasAuth(_ catalog: ModelCatalog, _ agent: String, _ provider: String) throws -> Bool {
        try catalog.view(for: agent).get().providers.first { $0.id == provider }?.hasAuth == true
    }

    @Test("A read with no view builds that agent at once; later reads use the view")
    func firstRead() async throws {
        try await withCatalog { catalog, home in
            try await addKey(home, "xai")
            #expect(try hasAuth(catalog, "main", "xai"))
            #expect(catalog.registry.counts.published == [.firstRead: 1])
            for _ in 0..<10 { _ = catalog.view(for: "main") }
            #expect(catalog.registry.counts.published == [.firstRead: 1], "the agent was built once")
            #expect(!(try hasAuth(catalog, "helper", "xai")), "the helper has its own view")
            #expect(catalog.registry.counts.published == [.firstRead: 2])
        }
    }

    @Test("Invalidations coalesce: many events for one agent, one rebuild with every reason")
    func coalesced() async throws {
        try await withCatalog { catalog, home in
            catalog.rebuildAll(reason: .startup)
            try await addKey(home, "xai")
            catalog.invalidate("main", reason: .externalEdit)
            catalog.invalidate("main", reason: .externalEdit)
            catalog.invalidate("main", reason: .authFailure)
            #expect(!(try hasAuth(catalog, "main", "xai")), "the old view answers until the rebuild")
            catalog.rebuildPending()
            #expect(try hasAuth(catalog, "main", "xai"))
            #expect(catalog.registry.counts.published == [.startup: 2, .externalEdit: 1])
        }
    }

    @Test("Only content that differs from what the gateway last read or wrote counts as an outside edit")
    func outsideEdits() async throws {
        try await withCatalog { catalog, home in
            let path = home.authProfilesPath("main")
            try await addKey(home, "xai")
            catalog.rebuildAll(reason: .startup)
            _ = catalog.registry.takePending()

            // The file as the build read it: nothing to do.
            #expect(!catalog.filesChanged([path]))
            #expect(catalog.registry.takePending().isEmpty)

            // Touched (same bytes, new mtime): nothing to do.
            try FileManager.default.setAttributes([.modificationDate: Date(timeIntervalSince1970: 1_700_000_000)], ofItemAtPath: path)
            _ = catalog.filesChanged([path])
            #expect(catalog.registry.takePending().isEmpty)

            // Written by this process (through the store): known, not an outside edit.
            try await addKey(home, "openai")
            _ = catalog.filesChanged([path])
            #expect(catalog.registry.takePending().isEmpty)

            // Another writer: an outside edit of that agent.
            let bytes = Array(#"{"version":1,"profiles":{}}"#.utf8)
            let fd = open(path, O_WRONLY | O_TRUNC)
            #expect(bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) } == bytes.count)
            close(fd)
            _ = catalog.filesChanged([path])
            #expect(catalog.registry.takePending() == [.init(agent: "main", reasons: [.externalEdit])])

            // gatehouse.json changed: the caller is told to reload.
            try? await Task.sleep(for: .milliseconds(1))
            let config = home.configurationPath
            #expect(!catalog.filesChanged([config]), "absent, as at start")
            let other = open(config, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
            close(other)
            #expect(catalog.filesChanged([config]))
        }
    }
}
