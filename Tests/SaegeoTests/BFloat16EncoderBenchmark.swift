import Foundation
import Testing
@testable import SaegeoCore

/// The speed of the certified bfloat16 first pass against float32 on a generated job (`saegeo
/// generate`), engine-level through DatasetScorer: runs only where SAEGEO_BF16_BENCH names the
/// job's folder (a release build: `swift test -c release -Xswiftc -enable-testing --filter
/// BFloat16EncoderBenchmark`), alternating the two, and prints seconds, rows per second and the
/// first pass's counts.
@Suite("bfloat16 encoder benchmark")
struct BFloat16EncoderBenchmark {
    static let folder = ProcessInfo.processInfo.environment["SAEGEO_BF16_BENCH"]

    @Test("score: bfloat16 against float32, alternating", .enabled(if: folder != nil))
    func score() throws {
        let folder = try #require(Self.folder)
        let checkpoint = try SAECheckpoint.open(folder + "/sae")
        let encoder = try SAEEncoder(checkpoint: checkpoint)
        let toxic = try String(contentsOfFile: folder + "/toxic.txt", encoding: .utf8).split(separator: "\n").compactMap { Int($0) }
        let proximity = try ToxicProximity.compute(decoder: try checkpoint.decoder(), toxic: toxic, engines: [CPUEngine()])
        let data = try ActivationsFile.open(folder + "/activations.safetensors", tensor: nil, offsets: "offsets")
        var reference: [Float]?
        for run in 0..<6 {
            let bfloat16 = run % 2 == 1
            let engine = bfloat16 ? try CPUBackend(precision: .bfloat16).engine(for: "cpu") : CPUEngine()
            var scorer = try DatasetScorer(encoder: encoder, proximity: proximity.proximity, activations: data)
            try scorer.plan(for: [engine], memoryBudget: nil)
            let start = Date()
            let result = try scorer.run(on: [engine])
            let seconds = Date().timeIntervalSince(start)
            let rows = data.rows.features
            var line = "\(bfloat16 ? "bfloat16" : "float32 ") run \(run / 2 + 1): \(String(format: "%.3f", seconds)) s, "
                + "\(Int(Double(rows) / seconds)) rows/s, chunk \(scorer.rowChunk) x tile \(scorer.featureTile)"
            if let counts = engine.firstPassCounts, counts.encoderRows > 0 {
                let perRow = { (n: Int) in String(format: "%.1f", Double(n) / Double(counts.encoderRows)) }
                line += ", per row: recomputed \(perRow(counts.recomputedFeatures)), decided \(perRow(counts.decidedFeatures))"
            }
            print(line)
            if let reference {
                let worst = zip(result.scores, reference).map { abs($0 - $1) / max(abs($1), 1) }.max() ?? 0
                print("  largest score difference from the first float32 run: \(worst)")
                #expect(worst <= 1e-6)
            } else {
                reference = result.scores
            }
        }
    }
}
