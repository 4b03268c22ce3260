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
        .package(name: "gatehouse", path: "..")
    ],
    targets: [
        // `gatehouse-bench store`: lock and store throughput under contention.
        .executableTarget(
            name: "gatehouse-bench",
            dependencies: [
                .product(name: "GatehouseCore", package: "gatehouse"),
                .product(name: "GatehouseStore", package: "gatehouse"),
            ],
            swiftSettings: swiftSettings
        )
    ],
    swiftLanguageModes: [.v6]
)
