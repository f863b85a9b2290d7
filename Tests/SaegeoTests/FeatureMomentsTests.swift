import Foundation
import Testing
@testable import SaegeoCore

/// Contrast's per-feature moments reduced on the engines (EncoderEpilogue's `featureMoments`)
/// against the path they replace: the same engine handing every sample's active features to the
/// host, which adds them sample by sample (FeatureStatistics.add), a chunk at a time, the chunks
/// merged in order. Equal means equal bits: the high and low parts of every compensated sum.
struct FeatureMomentsTests {
    struct Case: CustomStringConvertible, Sendable {
        let architecture: String
        let engine: String
        var description: String { "\(architecture) on \(engine)" }
    }

    /// cpu, the float64 backend, and per OpenCL device its float64 kernel and the host's fallback
    /// from the dense sums (as on a device without cl_khr_fp64), each under the GPU kernels too.
    static var engineNames: [String] {
        let openCL = (0..<((try? OpenCLBackend().openCLDevices.count) ?? 0)).flatMap {
            ["opencl:\($0)", "opencl:\($0) tiled", "opencl:\($0) no float64"]
        }
        return ["cpu", Float64Backend.family] + openCL
    }

    static func engine(_ name: String) throws -> ComputeEngine {
        let parts = name.split(separator: " ", maxSplits: 1).map(String.init)
        switch (parts[0], parts.count > 1 ? parts[1] : "") {
        case ("cpu", _): return CPUEngine()
        case (Float64Backend.family, _): return try DeviceCatalog(backends: [Float64Backend()]).engine(for: parts[0])
        case (let id, "tiled"): return try OpenCLBackend(settings: .init(overrides: .typicalGPU, variant: .localTiled)).engine(for: id)
        case (let id, "no float64"):
            var overrides = LimitOverrides()
            overrides.doublePrecision = false
            return try OpenCLBackend(settings: .init(overrides: overrides)).engine(for: id)
        case (let id, _): return try OpenCLBackend().engine(for: id)
        }
    }

    static let cases = ["standard", "jumprelu", "topk", "gated"].flatMap { a in engineNames.map { Case(architecture: a, engine: $0) } }

    /// The host's reduction of one set on `engine`, as contrast reduced it before the epilogue.
    static func hostStatistics(_ contrast: DatasetContrast, _ set: ActivationsFile, on engine: ComputeEngine) throws -> FeatureStatistics {
        let features = contrast.encoder.features, starts = set.sampleStarts
        let parts = Locked([Int: FeatureStatistics]())
        var scorer = try DatasetScorer(encoder: contrast.encoder, proximity: [Float](repeating: 0, count: features), activations: set)
        scorer.rowChunk = contrast.rowChunk
        scorer.featureTile = contrast.featureTile
        scorer.featureSink = { first, active in
            var part = FeatureStatistics(features: features)
            for (s, sample) in active.enumerated() { part.add(sample: sample, length: starts[first + s + 1] - starts[first + s]) }
            parts.withLock { $0[first, default: FeatureStatistics(features: features)].merge(part) }
        }
        _ = try scorer.run(on: [engine])
        var total = FeatureStatistics(features: features)
        for (_, part) in parts.current.sorted(by: { $0.key < $1.key }) { total.merge(part) }
        return total
    }

    @Test("the engines' moments are the host's reduction, bit for bit", arguments: cases)
    func sameBitsAsHost(_ c: Case) throws {
        let folder = TestFiles.path("moments-\(c.architecture)-\(c.engine.replacingOccurrences(of: " ", with: "-"))")
        let (saePath, _) = try ContrastTests.sae(c.architecture, folder: folder)
        // Uneven samples with empty ones, and long ones whose means are not exact in binary.
        let starts = [0, 3, 3, 10, 11, 18, 18, 29, 36, 43, 50, 51, 58]
        _ = try ContrastTests.activations(folder + "/a.safetensors", starts: starts, seed: 7, setA: true)
        _ = try ContrastTests.activations(folder + "/b.safetensors", starts: starts, seed: 8, setA: false)
        let encoder = try SAEEncoder(checkpoint: try SAECheckpoint.open(saePath))
        let a = try ActivationsFile.open(folder + "/a.safetensors", tensor: nil, offsets: "offsets")
        let b = try ActivationsFile.open(folder + "/b.safetensors", tensor: nil, offsets: "offsets")
        var contrast = try DatasetContrast(encoder: encoder, a: a, b: b, paired: false)
        for (rowChunk, featureTile) in [(8, 16), (20, 7), (64, 64)] {
            contrast.rowChunk = rowChunk
            contrast.featureTile = featureTile
            let engine = try Self.engine(c.engine)
            let result = try contrast.run(on: [engine])
            let label = "\(c), \(rowChunk) rows x \(featureTile) features"
            let hostA = try Self.hostStatistics(contrast, a, on: engine), hostB = try Self.hostStatistics(contrast, b, on: engine)
            // Compared outside #expect, which would print every array of a difference.
            let sameA = result.a == hostA, sameB = result.b == hostB
            #expect(sameA, "\(label): set A")
            #expect(sameB, "\(label): set B")
            #expect(result.a.samples == starts.count - 1 && result.a.fires.contains { $0 > 0 }, "\(label): something fired")
        }
    }

    @Test("pocl's CPU device reports float64, so the kernel path is the one tested here")
    func devicesReportDouble() throws {
        for device in (try? OpenCLBackend().openCLDevices) ?? [] where device.platformName.lowercased().contains("portable") {
            #expect(device.supportsDouble, "\(device.id) \(device.name)")
        }
    }

    @Test("a chunk's moments placed into its statistics are the pieces' figures, copied")
    func placing() {
        var piece = FeatureMoments(features: 2..<4)
        piece.add(0, sum: 0.3, tokens: 2, length: 3)
        piece.add(0, sum: 0.7, tokens: 1, length: 7)
        piece.add(1, sum: 5, tokens: 4, length: 4)
        var bySample = FeatureStatistics(features: 5)
        for (active, length) in [([SampleFeature(feature: 2, sum: 0.3, tokens: 2)], 3),
                                 ([SampleFeature(feature: 2, sum: 0.7, tokens: 1)], 7),
                                 ([SampleFeature(feature: 3, sum: 5, tokens: 4)], 4)] {
            bySample.add(sample: active, length: length)
        }
        #expect(FeatureStatistics(samples: 3, features: 5, pieces: [piece]) == bySample)
        #expect(FeatureStatistics(samples: 3, features: 5, pieces: [piece]).fires == [0, 0, 2, 1, 0])
    }
}
