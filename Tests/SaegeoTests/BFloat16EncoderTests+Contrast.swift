import Foundation
import Testing
@testable import SaegeoCore

/// contrast through the certified bfloat16 first pass against the float32 path, on ContrastTests'
/// SAEs of every architecture it writes (ReLU, JumpReLU, gated, TopK), unpaired (moments) and
/// paired (per-sample features): the same firing and token counts, means and t within 1e-6.
extension BFloat16EncoderTests {
    static func contrastRows(_ architecture: String, paired: Bool, engine: ComputeEngine) throws -> [FeatureContrast] {
        let folder = TestFiles.path("bfloat16-contrast-\(architecture)")
        let (saePath, _) = try ContrastTests.sae(architecture, folder: folder)
        let starts = [0, 3, 3, 9, 10, 17, 17, 25, 31]
        _ = try ContrastTests.activations(folder + "/a.safetensors", starts: starts, seed: 1, setA: true)
        _ = try ContrastTests.activations(folder + "/b.safetensors", starts: starts, seed: 2, setA: false)
        var contrast = try DatasetContrast(
            encoder: try SAEEncoder(checkpoint: try SAECheckpoint.open(saePath)),
            a: try ActivationsFile.open(folder + "/a.safetensors", tensor: nil, offsets: "offsets"),
            b: try ActivationsFile.open(folder + "/b.safetensors", tensor: nil, offsets: "offsets"), paired: paired)
        contrast.rowChunk = 8
        contrast.featureTile = 16
        let result = try contrast.run(on: [engine])
        return FeatureContrast.ranked(a: result.a, b: result.b, differences: result.differences, dead: { $0 == 9 })
    }

    @Test("contrast: the same counts and statistics within 1e-6 of float32, every architecture, paired or not",
          arguments: ["relu", "jumprelu", "gated", "topk"])
    func contrastMatchesFloat32(architecture: String) throws {
        for paired in [false, true] {
            let want = try Self.contrastRows(architecture, paired: paired, engine: CPUEngine())
            #expect(want.contains { $0.firesA > 0 }, "the test data fires nothing")
            for product in Self.products {
                let got = try Self.contrastRows(architecture, paired: paired, engine: Self.engine(product))
                let label = "\(architecture) paired \(paired) \(product)"
                #expect(got.map(\.feature) == want.map(\.feature), "\(label): ranking")
                for (g, w) in zip(got, want) {
                    #expect(g.firesA == w.firesA && g.firesB == w.firesB && g.tokensA == w.tokensA && g.tokensB == w.tokensB,
                            "\(label) feature \(w.feature): counts")
                    #expect(Self.close(g.meanA, w.meanA) && Self.close(g.meanB, w.meanB) && Self.close(g.t, w.t),
                            "\(label) feature \(w.feature): \(g.meanA) \(g.meanB) \(g.t) vs \(w.meanA) \(w.meanB) \(w.t)")
                }
            }
        }
    }
}
