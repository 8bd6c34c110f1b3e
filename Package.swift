// swift-tools-version:6.1
import PackageDescription

/// One settings array applied to every non-system target.
let strictSettings: [SwiftSetting] = [
    .enableUpcomingFeature("MemberImportVisibility"),
    .enableUpcomingFeature("InternalImportsByDefault"),
    .enableUpcomingFeature("ExistentialAny"),
]

/// Release-mode optimisation flags for the per-tuple path.
let hotPathSettings: [SwiftSetting] =
    strictSettings + [
        .unsafeFlags(["-enforce-exclusivity=unchecked"], .when(configuration: .release))
    ]

let package = Package(
    name: "gale",
    platforms: [.macOS(.v15)],
    products: [
        .library(name: "Gale", targets: ["Gale"]),
        .library(name: "GaleRuntime", targets: ["GaleRuntime"]),
        .library(name: "GaleMain", targets: ["GaleMain"]),
        .library(name: "GaleKafka", targets: ["GaleKafka"]),
        .library(name: "GaleTrident", targets: ["GaleTrident"]),
        .executable(name: "wordcount", targets: ["WordCount"]),
        .executable(name: "exclamation", targets: ["Exclamation"]),
        .executable(name: "rolling-top-words", targets: ["RollingTopWords"]),
        .executable(name: "unreliable", targets: ["Unreliable"]),
        .executable(name: "kafka-stages", targets: ["KafkaStages"]),
        .executable(name: "gale-bench", targets: ["GaleBench"]),
        .executable(name: "gale-kafka-bench", targets: ["GaleKafkaBench"]),
        .executable(name: "gale-trident-bench", targets: ["GaleTridentBench"]),
        .executable(name: "gale-status-bench", targets: ["GaleStatusBench"]),
        .executable(name: "gale-window-bench", targets: ["GaleWindowBench"]),
        .executable(name: "gale", targets: ["gale"]),
        .executable(name: "gale-test-topology", targets: ["ClusterTopology"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.37.0"),
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.37.6"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
    ],
    targets: [
        // MARK: - C libraries
        .systemLibrary(
            name: "CRdKafka",
            // librdkafka >= 2.1: Debian 12's librdkafka-dev (2.0.2) is too old; scripts/bootstrap
            // builds 2.8.0 from Debian trixie's source package into /usr/local.
            pkgConfig: "rdkafka"
        ),
        .systemLibrary(
            name: "CTCMalloc",
            pkgConfig: "libtcmalloc_minimal",
            providers: [.apt(["libgoogle-perftools-dev"])]
        ),
        .systemLibrary(
            name: "CLibCrypto",
            pkgConfig: "libcrypto",
            providers: [.apt(["libssl-dev"])]
        ),
        .systemLibrary(name: "CPosixSpawn"),
        // fork and exec of workers as another user, and a tree removal that follows no links.
        .target(name: "CGaleProcess"),
        .systemLibrary(
            name: "CZooKeeper",
            providers: [.apt(["libzookeeper-mt-dev"])]
        ),

        // MARK: - Library
        .target(
            name: "Gale",
            swiftSettings: strictSettings
        ),
        .target(
            name: "GaleRuntime",
            dependencies: [
                "Gale",
                "CTCMalloc",
                "CLibCrypto",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOTLS", package: "swift-nio"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ],
            swiftSettings: hotPathSettings
        ),
        .target(
            name: "GaleZooKeeper",
            dependencies: [
                "Gale",
                "CZooKeeper",
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strictSettings
        ),
        .target(
            name: "GaleCoordination",
            dependencies: [
                "Gale",
                "GaleZooKeeper",
                "CLibCrypto",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOTLS", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
            ],
            swiftSettings: strictSettings
        ),
        .target(
            name: "GaleKafka",
            dependencies: [
                "Gale",
                "CRdKafka",
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strictSettings
        ),
        .target(
            name: "GaleTrident",
            dependencies: [
                "Gale",
                "GaleCoordination",
                "GaleKafka",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "GRDBSQLite", package: "GRDB.swift"),
            ],
            swiftSettings: strictSettings
        ),
        .target(
            name: "GaleDaemons",
            dependencies: [
                "Gale",
                "GaleCoordination",
                "CGaleProcess",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Yams", package: "Yams"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ],
            swiftSettings: strictSettings
        ),
        .target(
            name: "GaleMain",
            dependencies: [
                "Gale",
                "GaleRuntime",
                "GaleCoordination",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: strictSettings
        ),

        // MARK: - Executables
        .executableTarget(
            name: "gale",
            dependencies: [
                "Gale",
                "GaleCoordination",
                "GaleDaemons",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strictSettings
        ),

        // MARK: - Examples
        .executableTarget(
            name: "WordCount",
            dependencies: ["Gale", "GaleMain"],
            path: "examples/WordCount",
            swiftSettings: strictSettings
        ),
        .executableTarget(
            name: "Exclamation",
            dependencies: ["Gale", "GaleMain"],
            path: "examples/Exclamation",
            swiftSettings: strictSettings
        ),
        .executableTarget(
            name: "RollingTopWords",
            dependencies: ["Gale", "GaleMain"],
            path: "examples/RollingTopWords",
            swiftSettings: strictSettings
        ),
        .executableTarget(
            name: "Unreliable",
            dependencies: ["Gale", "GaleMain"],
            path: "examples/Unreliable",
            swiftSettings: strictSettings
        ),
        .executableTarget(
            name: "KafkaStages",
            dependencies: ["Gale", "GaleKafka", "GaleMain"],
            path: "examples/KafkaStages",
            swiftSettings: strictSettings
        ),
        .executableTarget(
            name: "GaleKafkaBench",
            dependencies: [
                "Gale", "GaleKafka", "GaleRuntime",
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Sources/GaleKafkaBench",
            swiftSettings: strictSettings
        ),
        .executableTarget(
            name: "GaleTridentBench",
            dependencies: [
                "Gale", "GaleRuntime", "GaleTrident",
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Sources/GaleTridentBench",
            swiftSettings: strictSettings
        ),
        .executableTarget(
            name: "GaleWindowBench",
            dependencies: [
                "Gale", "GaleRuntime", "GaleTrident",
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Sources/GaleWindowBench",
            swiftSettings: strictSettings
        ),
        .executableTarget(
            name: "GaleStatusBench",
            dependencies: ["Gale", "GaleCoordination", "GaleDaemons"],
            path: "Sources/GaleStatusBench",
            swiftSettings: strictSettings
        ),
        .executableTarget(
            name: "GaleBench",
            dependencies: ["Gale", "GaleRuntime"],
            path: "Sources/GaleBench",
            swiftSettings: hotPathSettings
        ),

        // MARK: - Tests
        .executableTarget(
            name: "ClusterTopology",
            dependencies: [
                "Gale", "GaleKafka", "GaleMain", "GaleTrident",
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Tests/Fixtures/ClusterTopology",
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "GaleTests",
            dependencies: ["Gale"],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "GaleRuntimeTests",
            dependencies: [
                "Gale", "GaleRuntime", "CTCMalloc", "GaleTestSupport",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "GaleZooKeeperTests",
            dependencies: ["GaleZooKeeper", .product(name: "Logging", package: "swift-log")],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "GaleCoordinationTests",
            dependencies: [
                "Gale", "GaleCoordination",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "GaleDaemonsTests",
            dependencies: ["Gale", "GaleCoordination", "GaleDaemons", "GaleTestSupport"],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "GaleCLITests",
            dependencies: ["gale", "Gale", "GaleCoordination", "GaleDaemons"],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "GaleKafkaTests",
            dependencies: ["Gale", "GaleKafka", "GaleTestSupport"],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "GaleTridentTests",
            dependencies: [
                "Gale", "GaleTrident", "GaleRuntime", "GaleKafka",
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "CLibraryTests",
            dependencies: ["CRdKafka", "CZooKeeper"],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "IntegrationTests",
            dependencies: [
                "CRdKafka", "CZooKeeper", "CPosixSpawn", "Gale", "GaleRuntime", "GaleCoordination", "GaleDaemons", "GaleKafka",
                "GaleTrident", "GaleTestSupport",
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strictSettings
        ),
        // Helpers several test targets share (loopback ports for daemons a test starts).
        .target(name: "GaleTestSupport", path: "Tests/Support", swiftSettings: strictSettings),
    ]
)
