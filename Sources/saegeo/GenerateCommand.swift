import ArgumentParser
import Foundation
import SaegeoCore

/// Writes the demo's kind of job, at any size, for trying the commands and the batch-job examples.
struct Generate: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Write a generated example job to a folder: a SAELens SAE with planted near-toxic features, activations, toxic ids, a dataset, and labelled toxic and ordinary activation sets for contrast.")

    @Argument(help: "The folder to write (created if needed).")
    var folder: String

    @Option(parsing: .unconditional, help: "SAE features (d_sae).", transform: NumberArgument.int)
    var features = 4096

    @Option(parsing: .unconditional, help: "Residual-stream width (d_model).", transform: NumberArgument.int)
    var dimension = 256

    @Option(parsing: .unconditional, help: "Dataset samples.", transform: NumberArgument.int)
    var samples = 2000

    @Option(parsing: .unconditional, help: "Tokens (activation rows) per sample.", transform: NumberArgument.int)
    var tokens = 8

    @Option(parsing: .unconditional, help: "Seed of the generator.", transform: NumberArgument.seed)
    var seed: UInt64 = 7

    func run() throws {
        try Saegeo.reporting {
            // A folder that holds anything is someone's: generate writes a new job, never over files.
            if let entries = try? FileManager.default.contentsOfDirectory(atPath: folder), !entries.isEmpty {
                throw SaegeoError(.usage, "\(folder) exists and holds \(entries.count) entr\(entries.count == 1 ? "y" : "ies"); generate writes into a new or empty folder: name another")
            }
            var size = ExampleJob.Size()
            size.features = features
            size.dimension = dimension
            size.samples = samples
            size.tokens = tokens
            let example = try ExampleJob.write(size, seed: seed, to: folder)
            // Labelled activation sets, so that contrast (README step 3) runs on generated data too.
            let labelled = try example.writeLabelledSets(to: folder)
            Console.info("wrote \(example.saePath) (\(features) x \(dimension)), \(example.activationsPath) (\(samples) samples x \(tokens) tokens, offsets in 'offsets'), \(example.toxicPath), \(example.datasetPath), and labelled sets for contrast: \(labelled.toxic) and \(labelled.ordinary) (200 samples each)")
        }
    }
}
