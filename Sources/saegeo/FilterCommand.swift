import ArgumentParser
import Foundation
import SaegeoCore

extension SampleFilter.Strategy: ExpressibleByArgument {}

struct Filter: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Drop the samples nearest to toxic features (or as many at random) from a dataset.",
        discussion: """
        geometry drops the ceil(Q N) samples with the highest score, ties to the lower sample index; \
        random drops as many uniformly from --seed (the baseline). With --dataset, line i of DATA is \
        sample i and the kept lines are written to -o in their order; --dropped writes the dropped \
        sample ids, one per line. Nothing is written unless everything checks out.
        """)

    @Option(help: "Scores from 'saegeo score': .jsonl, .csv or .safetensors.")
    var scores: String

    @Option(name: .customLong("drop-fraction"), parsing: .unconditional, help: "Fraction Q of the samples to drop, from 0 to 1.", transform: NumberArgument.double)
    var dropFraction: Double

    @Option(help: "geometry (highest scores) or random.")
    var strategy: SampleFilter.Strategy = .geometry

    @Option(parsing: .unconditional, help: "Seed of the random strategy (default 0).", transform: NumberArgument.seed)
    var seed: UInt64?

    @Option(help: "The dataset, one sample per line (JSONL).")
    var dataset: String?

    @Option(name: .short, help: "Where to write the kept lines of --dataset (written atomically).")
    var output: String?

    @Option(help: "Where to write the dropped sample ids, one per line.")
    var dropped: String?

    func run() throws {
        try Saegeo.reporting {
            guard (dataset == nil) == (output == nil) else {
                throw SaegeoError(.usage, "--dataset and -o go together: give both, or neither")
            }
            guard dataset != nil || dropped != nil else {
                throw SaegeoError(.usage, "nothing to write: give --dataset DATA -o KEPT, --dropped FILE, or both")
            }
            if seed != nil, strategy == .geometry {
                Console.info("warning: --seed only applies to --strategy random; the geometry filter does not draw at random, ignoring it")
            }
            var outputs: [(role: String, path: String)] = []
            if let output { outputs.append(("-o", output)) }
            if let dropped { outputs.append(("--dropped", dropped)) }
            let job = try Job("filter", inputs: [scores] + (dataset.map { [$0] } ?? []), outputs: outputs)
            if let dataset { try InputFile.requireExisting(dataset, what: "--dataset") }
            let sampleScores = try SampleScores.read(scores)
            let drop = try SampleFilter.dropped(sampleScores, fraction: dropFraction, strategy: strategy, seed: seed ?? 0)
            let droppedSet = Set(drop)
            if let dataset, let output {
                try job.write(output) { handle in
                    let lines = try DatasetLines.filter(dataset, into: handle, expected: sampleScores.count) { !droppedSet.contains($0) }
                    guard lines == sampleScores.count else {
                        throw SaegeoError(.badInput, "\(dataset) has \(lines) lines but \(scores) scores \(sampleScores.count) samples; line i of the dataset must be sample i")
                    }
                }
            }
            if let dropped {
                try job.write(dropped) { handle in
                    try handle.write(contentsOf: Data(drop.map { "\($0)\n" }.joined().utf8))
                }
            }
            try job.commit()
            Console.info("dropped \(drop.count) of \(sampleScores.count) samples (\(strategy.rawValue), fraction \(dropFraction))"
                         + (output.map { "; kept lines in \($0)" } ?? "") + (dropped.map { "; dropped ids in \($0)" } ?? ""))
        }
    }
}
