// swift-tools-version:6.1
// Benchmarks for Gatehouse, kept apart from the main build graph (as SwiftNIO and postgres-nio keep
// theirs) so that a normal `swift build` or `swift test` of the root package never compiles them.
import PackageDescription

let swiftSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("MemberImportVisibility"),
]

let package = Package(
    name: "gatehouse-benchmarks",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(name: "gatehouse", path: ".."),
        // The versions the root package asks for. swift-log: the libraries' logs go to standard error;
        // AsyncHTTPClient and NIO: the refresh benchmark calls the mock provider's admin endpoints.
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.37.0"),
    ],
    targets: [
        // `gatehouse-bench store`: lock and store throughput under contention; `health`: the hot-path
        // costs of profile health; `refresh`: the OAuth refresh stampede against the mock provider.
        .executableTarget(
            name: "gatehouse-bench",
            dependencies: [
                .product(name: "GatehouseCore", package: "gatehouse"),
                .product(name: "GatehouseStore", package: "gatehouse"),
                .product(name: "GatehouseHTTP", package: "gatehouse"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
            ],
            swiftSettings: swiftSettings
        )
    ],
    swiftLanguageModes: [.v6]
)
