// swift-tools-version:6.0
// CHAIN: distributed self-supervised video hashing.
// Layers, each importing only layers below it: C libraries (CKernels, OpenBLAS, HDF5, MPI, zlib)
// → ChainNumerics → ChainNN → ChainModel → ChainExport (ONNX); ChainStorage → ChainData →
// ChainEvaluation → ChainReport; ChainDistributed; all of them → ChainTraining → ChainCLI → the
// executables.
// See docs/architecture.md.
import PackageDescription

let package = Package(
    name: "CHAIN",
    products: [
        .executable(name: "chain-train", targets: ["ChainTrainTool"]),
        .executable(name: "chain-bench", targets: ["ChainBenchTool"]),
        .executable(name: "chain-data", targets: ["ChainDataTool"]),
        .executable(name: "chain-eval", targets: ["ChainEvalTool"]),
        .executable(name: "chain-encode", targets: ["ChainEncodeTool"]),
        .executable(name: "chain-search", targets: ["ChainSearchTool"]),
        .executable(name: "chain-extract", targets: ["ChainExtractTool"]),
        .executable(name: "chain-report", targets: ["ChainReportTool"]),
        .executable(name: "chain-export", targets: ["ChainExportTool"]),
        .library(name: "ChainNN", targets: ["ChainNN"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
        .package(url: "https://github.com/apple/swift-protobuf", from: "1.39.0"),
    ],
    targets: [
        // C libraries from Debian, found through pkg-config.
        .systemLibrary(
            name: "CMPI", pkgConfig: "ompi-c",
            providers: [.apt(["libopenmpi-dev", "openmpi-bin"])]),
        .systemLibrary(
            name: "COpenBLAS", pkgConfig: "openblas",
            providers: [.apt(["libopenblas-dev"])]),
        .systemLibrary(
            name: "CHDF5", pkgConfig: "hdf5",
            providers: [.apt(["libhdf5-dev"])]),
        .systemLibrary(
            name: "CZlib", pkgConfig: "zlib",
            providers: [.apt(["zlib1g-dev"])]),
        .systemLibrary(
            name: "COpenCV", pkgConfig: "opencv4",
            providers: [.apt(["libopencv-dev"])]),
        .systemLibrary(
            name: "CONNX", pkgConfig: "protobuf",
            providers: [.apt(["libonnx-dev", "libprotobuf-dev"])]),

        // Engine. Each target lists every module it imports; none imports a module listed after it.
        .target(name: "CKernels"),
        // C++ over OpenCV (decoding, frame transforms, ONNX CNNs) behind a C interface.
        .target(
            name: "CVision", dependencies: ["COpenCV", "CONNX"],
            cxxSettings: [.define("ONNX_ML", to: "1"), .define("ONNX_NAMESPACE", to: "onnx")],
            linkerSettings: [.linkedLibrary("onnx_proto")]),
        .target(name: "ChainNumerics", dependencies: ["COpenBLAS", "CKernels"]),
        .target(name: "ChainNN", dependencies: ["ChainNumerics", "CKernels"]),
        .target(name: "ChainModel", dependencies: ["ChainNN", "ChainNumerics"]),
        .target(name: "ChainStorage", dependencies: ["CHDF5"]),
        .target(
            name: "ChainData",
            dependencies: [
                "ChainStorage", "ChainNumerics", "CZlib",
                .product(name: "Yams", package: "Yams"),
            ]),
        .target(name: "ChainDistributed", dependencies: ["CMPI"]),
        .target(name: "ChainEvaluation", dependencies: ["ChainData", "ChainStorage", "ChainNumerics", "CKernels"]),
        .target(
            name: "ChainReport",
            dependencies: [
                "ChainEvaluation", "ChainNumerics", .product(name: "SwiftProtobuf", package: "swift-protobuf"),
            ]),
        .target(
            name: "ChainExport",
            dependencies: [
                "ChainModel", "ChainNN", "ChainNumerics", .product(name: "SwiftProtobuf", package: "swift-protobuf"),
            ]),
        .target(
            name: "ChainExtraction",
            dependencies: [
                "CVision", "ChainData", "ChainStorage", "ChainNumerics", "ChainDistributed", "CZlib",
                .product(name: "Yams", package: "Yams"),
            ]),
        .target(name: "ChainToy", dependencies: ["ChainNN", "ChainNumerics", "ChainDistributed"]),
        .target(
            name: "ChainTraining",
            dependencies: [
                "ChainModel", "ChainNN", "ChainNumerics", "ChainData", "ChainEvaluation", "ChainReport",
                "ChainDistributed",
                "ChainStorage", "CZlib", .product(name: "Yams", package: "Yams"),
            ]),
        .target(
            name: "ChainCLI",
            dependencies: [
                "ChainDistributed", "ChainTraining", "ChainModel",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]),

        // Executables.
        .executableTarget(
            name: "ChainTrainTool",
            dependencies: [
                "ChainCLI", "ChainToy", "ChainDistributed", "ChainTraining", "ChainModel", "ChainNumerics", "ChainData",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ], path: "Sources/chain-train"),
        .executableTarget(
            name: "ChainDataTool",
            dependencies: [
                "ChainCLI", "ChainData", "ChainStorage", "ChainNumerics",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ], path: "Sources/chain-data"),
        .executableTarget(
            name: "ChainEvalTool",
            dependencies: [
                "ChainCLI", "ChainTraining", "ChainEvaluation", "ChainData", "ChainDistributed", "ChainNumerics",
                "ChainModel", "ChainReport",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ], path: "Sources/chain-eval"),
        .executableTarget(
            name: "ChainEncodeTool",
            dependencies: [
                "ChainCLI", "ChainTraining", "ChainEvaluation", "ChainData", "ChainDistributed", "ChainNumerics",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ], path: "Sources/chain-encode"),
        .executableTarget(
            name: "ChainSearchTool",
            dependencies: [
                "ChainCLI", "ChainEvaluation", "ChainData",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ], path: "Sources/chain-search"),
        .executableTarget(
            name: "ChainReportTool",
            dependencies: [
                "ChainCLI", "ChainReport", .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ], path: "Sources/chain-report"),
        .executableTarget(
            name: "ChainExportTool",
            dependencies: [
                "ChainCLI", "ChainData", "ChainDistributed", "ChainExport", "ChainTraining",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
            ], path: "Sources/chain-export"),
        .executableTarget(
            name: "ChainBenchTool",
            dependencies: [
                "ChainCLI", "ChainNN", "ChainNumerics", "ChainModel", "ChainData", "ChainEvaluation",
                "ChainDistributed", "ChainTraining", "ChainExtraction", "CVision", "ChainReport",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ], path: "Sources/chain-bench"),
        .executableTarget(
            name: "ChainExtractTool",
            dependencies: [
                "ChainCLI", "ChainExtraction", "ChainDistributed", "ChainTraining", "CVision",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ], path: "Sources/chain-extract"),
        // Scenarios the test suite runs under `mpirun -np N` (not installed for users).
        .executableTarget(
            name: "chain-testkit",
            dependencies: [
                "ChainDistributed", "ChainToy", "ChainModel", "ChainNN", "ChainNumerics", "ChainTraining", "ChainData",
                "ChainStorage",
            ], path: "Sources/chain-testkit"),

        // Tests.
        .target(name: "ChainTestSupport", dependencies: ["ChainNN", "ChainNumerics"], path: "Tests/ChainTestSupport"),
        .testTarget(name: "ChainNumericsTests", dependencies: ["ChainNumerics", "ChainTestSupport"]),
        .testTarget(name: "ChainNNTests", dependencies: ["ChainNN", "ChainNumerics", "ChainToy", "ChainTestSupport"]),
        .testTarget(
            name: "ChainModelTests", dependencies: ["ChainModel", "ChainNN", "ChainNumerics", "ChainTestSupport"],
            exclude: ["Fixtures/make_affinity_propagation_fixtures.py"],
            resources: [.copy("Fixtures/affinity_propagation.json")]),
        .testTarget(name: "ChainStorageTests", dependencies: ["ChainStorage"]),
        .testTarget(
            name: "ChainExtractionTests",
            dependencies: [
                "ChainExtraction", "CVision", "ChainData", "ChainStorage", "ChainTestSupport", "ChainExtractTool",
            ],
            exclude: ["Fixtures/make_tiny_cnn.py"], resources: [.copy("Fixtures")]),
        .testTarget(
            name: "ChainEvaluationTests",
            dependencies: [
                "ChainEvaluation", "ChainData", "ChainNumerics",
                "ChainStorage",
            ],
            exclude: ["make_packbits_fixture.py"],
            resources: [.copy("Fixtures/packbits.json")]),
        .testTarget(name: "ChainReportTests", dependencies: ["ChainReport", "ChainEvaluation"]),
        .testTarget(
            name: "ChainExportTests",
            dependencies: [
                "ChainExport", "ChainModel", "ChainNN", "ChainNumerics", "ChainEvaluation", "ChainStorage",
                "ChainTestSupport", "ChainExportTool", "ChainTrainTool", "ChainEncodeTool", "ChainDataTool",
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
            ]),
        .testTarget(
            name: "ChainDataTests",
            dependencies: [
                "ChainData", "ChainStorage", "ChainNumerics", "ChainTestSupport",
                "ChainDataTool",
            ],
            exclude: ["make_label_fixtures.py"], resources: [.copy("Fixtures")]),
        .testTarget(
            name: "ChainTrainingTests",
            dependencies: [
                "ChainTraining", "ChainData", "ChainDistributed", "ChainModel", "ChainNumerics", "ChainTestSupport",
                "ChainReport",
            ]),
        // The executables are dependencies so that `swift build --build-tests` builds what these tests run.
        .testTarget(
            name: "ChainDistributedTests",
            dependencies: [
                "ChainDistributed", "ChainTraining", "ChainStorage", "ChainTestSupport", "chain-testkit",
                "ChainTrainTool",
                "ChainDataTool",
                "ChainEvalTool", "ChainEncodeTool", "ChainSearchTool", "ChainReportTool",
            ]),
    ],
    cxxLanguageStandard: .cxx17
)
