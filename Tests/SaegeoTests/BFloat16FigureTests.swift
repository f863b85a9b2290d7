import Foundation
import Testing
@testable import SaegeoCore

/// How tight the bfloat16 bound is in practice (docs/internals.md): candidates re-scored per query
/// and exhaustive rows, float32 against the bfloat16 first pass, on the generated job's dictionary
/// and on random unit rows. Minutes of work: runs only with SAEGEO_BF16_FIGURES=1; prints.
@Suite(.serialized, .enabled(if: ProcessInfo.processInfo.environment["SAEGEO_BF16_FIGURES"] == "1"))
struct BFloat16FigureTests {
    static func figures(_ search: NeighborSearch, _ label: String) throws {
        for (name, engine) in [("float32", CPUEngine() as ComputeEngine),
                               ("bfloat16 \(BFloat16Product.best)", BFloat16NeighborTests.bfloat16(portable: false))] {
            let result = try search.run(on: [engine])
            let counts = result.firstPass
            let perQuery = Double(counts.rescoredCandidates) / Double(max(1, counts.queryRows))
            print(String(format: "%@, %@: %d query rows, %.1f candidates re-scored per query (lists of %d), %d exhaustive rows, %.2f s",
                         label, name, counts.queryRows, perQuery,
                         NeighborSearch.candidates(k: search.k, keys: search.keys.count, firstPass: name != "float32"),
                         counts.exhaustiveRows, result.seconds))
        }
    }

    @Test("generated 4096 x 256 all pairs; random unit rows 16384 x 2304, 1024 queries")
    func tightness() throws {
        let planted = PlantedDictionary.generate(features: 4096, dimension: 256, toxic: 4, neighboursPerToxic: 6, seed: 7)
        let path = TestFiles.path("bf16-planted.npy")
        try planted.writeNpy(to: path)
        let generated = try SAECheckpoint.open(path).decoder()
        for k in [10, 32] {
            try Self.figures(try NeighborSearch(dictionary: generated, queries: Array(0..<4096), keys: Array(0..<4096), k: k),
                             "generated 4096 x 256 all pairs, k \(k)")
        }
        let features = 16384, d = 2304
        var rng = SeededGenerator(seed: 65536)
        let values = (0..<(features * d)).map { _ in Float(rng.gaussian()) }
        let randomPath = TestFiles.path("bf16-random.npy")
        try NpyWriter.write(float32: values, rows: features, columns: d, to: randomPath)
        let random = try SAECheckpoint.open(randomPath).decoder()
        let queries = Array(stride(from: 0, to: features, by: 16))
        for k in [10, 32] {
            try Self.figures(try NeighborSearch(dictionary: random, queries: queries, keys: Array(0..<features), k: k),
                             "random 16384 x 2304, 1024 queries, k \(k)")
        }
    }
}
