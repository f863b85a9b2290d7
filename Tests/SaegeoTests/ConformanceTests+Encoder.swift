import Foundation
import Testing
@testable import SaegeoCore

/// The encoder workloads on every engine configuration of the conformance suite (small tiles and
/// several devices at once included, the float64 backend among them), against the float64
/// references of ScoreTests and ContrastTests: score with explain through a JumpReLU and a TopK
/// SAE, and contrast of two sets. The devices alone run them in ScoreTests and ContrastTests.
extension ConformanceTests {
    /// One SAE and per-token activations per architecture, and their float64 reference.
    final class ScoreFixture: @unchecked Sendable {  // immutable after init, because tests only read it
        let layout: ScoreTests.Layout
        let encoder: SAEEncoder
        let proximity: [Float]
        let data: ActivationsFile
        let expected: (scores: [Double], active: [Int], contributions: [[Int: Double]], p: [Double])

        init(_ layout: ScoreTests.Layout) throws {
            self.layout = layout
            let sae = ScoreTests.make(dtype: "F32", seed: 99)
            let folder = TestFiles.path("conformance-score-\(layout.rawValue)")
            let (path, subtract, scale, scalar) = try ScoreTests.write(sae, layout: layout, dtype: "F32", folder: folder)
            var rng = SeededGenerator(seed: 5)
            let rows = 37, starts = [0, 5, 5, 12, 13, 30, 37]
            let x = (0..<(rows * ScoreTests.dModel)).map { _ in Float(rng.gaussian()) }
            try CheckpointBytes.write(CheckpointBytes.safetensors([
                .init(name: "activations", dtype: "F32", shape: [rows, ScoreTests.dModel], bytes: CheckpointBytes.encode(x, as: "F32")),
                .init(name: "offsets", dtype: "I64", shape: [starts.count],
                      bytes: starts.flatMap { withUnsafeBytes(of: Int64($0).littleEndian, Array.init) }),
            ]), to: folder + "/acts.safetensors")
            let checkpoint = try SAECheckpoint.open(path)
            encoder = try SAEEncoder(checkpoint: checkpoint)
            proximity = try ToxicProximity.compute(decoder: try checkpoint.decoder(), toxic: ScoreTests.toxic,
                                                   engines: [CPUEngine()]).proximity
            data = try ActivationsFile.open(folder + "/acts.safetensors", tensor: nil, offsets: "offsets")
            expected = ScoreTests.reference(sae, layout: layout, x: x, starts: starts, subtract: subtract, scale: scale,
                                            scalarThreshold: scalar)
        }
    }

    static let scoreFixtures = [ScoreTests.Layout.saelensJump, .saelensTopK].map { try! ScoreFixture($0) }

    @Test("score with explain (JumpReLU and TopK) matches the float64 reference on every backend case",
          arguments: BackendCase.all)
    func scoreMatchesReference(backend: BackendCase) throws {
        for fixture in Self.scoreFixtures {
            var scorer = try DatasetScorer(encoder: fixture.encoder, proximity: fixture.proximity, activations: fixture.data)
            scorer.rowChunk = 8      // several chunks
            scorer.featureTile = 16  // several feature tiles
            scorer.explain = 3
            let result = try scorer.run(on: try backend.makeEngines())
            let label = "\(backend) \(fixture.layout)"
            #expect(result.active.map(Int.init) == fixture.expected.active, "\(label)")
            for (s, (got, want)) in zip(result.scores, fixture.expected.scores).enumerated() {
                #expect(abs(Double(got) - want) <= 1e-4 * max(abs(want), 1e-3), "\(label) sample \(s): \(got) vs \(want)")
                let contributions = fixture.expected.contributions[s], p = fixture.expected.p
                let wanted = contributions.sorted { ($0.value * p[$0.key], -$0.key) > ($1.value * p[$1.key], -$1.key) }.prefix(3)
                #expect(result.explanations[s].map(\.feature) == wanted.map(\.key), "\(label) sample \(s): explained features")
            }
        }
        #expect(Self.scoreFixtures.allSatisfy { $0.expected.active.contains { $0 > 0 } }, "the test data activates nothing")
    }

    @Test("contrast's per-feature firing, token counts and means match the float64 reference on every backend case",
          arguments: BackendCase.all)
    func contrastMatchesReference(backend: BackendCase) throws {
        for architecture in ["jumprelu", "topk"] {
            let folder = TestFiles.path("conformance-contrast-\(architecture)-\(backend.description.filter(\.isLetter))")
            let (saePath, ref) = try ContrastTests.sae(architecture, folder: folder)
            let startsA = [0, 3, 3, 9, 10, 17, 17, 25, 31], startsB = [0, 4, 4, 11, 18, 19, 27]
            let xA = try ContrastTests.activations(folder + "/a.safetensors", starts: startsA, seed: 1, setA: true)
            let xB = try ContrastTests.activations(folder + "/b.safetensors", starts: startsB, seed: 2, setA: false)
            let a = ContrastTests.statistics(ref, xA, starts: startsA), b = ContrastTests.statistics(ref, xB, starts: startsB)
            var contrast = try DatasetContrast(
                encoder: try SAEEncoder(checkpoint: try SAECheckpoint.open(saePath)),
                a: try ActivationsFile.open(folder + "/a.safetensors", tensor: nil, offsets: "offsets"),
                b: try ActivationsFile.open(folder + "/b.safetensors", tensor: nil, offsets: "offsets"), paired: false)
            contrast.rowChunk = 8
            contrast.featureTile = 16
            let result = try contrast.run(on: try backend.makeEngines())
            let rows = FeatureContrast.ranked(a: result.a, b: result.b, differences: result.differences, dead: { $0 == 9 })
            #expect(rows.count == ContrastTests.n, "\(backend) \(architecture)")
            for row in rows {
                let f = row.feature, label = "\(backend) \(architecture) feature \(f)"
                let meanA = a.m.reduce(0) { $0 + $1[f] } / Double(a.m.count), meanB = b.m.reduce(0) { $0 + $1[f] } / Double(b.m.count)
                #expect(row.firesA == Int64(a.fires[f]) && row.firesB == Int64(b.fires[f]), "\(label): fires")
                #expect(row.tokensA == Int64(a.tokens[f]) && row.tokensB == Int64(b.tokens[f]), "\(label): tokens")
                #expect(ContrastTests.close(row.meanA, meanA) && ContrastTests.close(row.meanB, meanB), "\(label): means")
            }
            #expect(a.fires.contains { $0 > 0 }, "the test data fires nothing")
        }
    }
}
