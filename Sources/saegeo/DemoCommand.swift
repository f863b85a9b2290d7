import ArgumentParser
import Foundation
import SaegeoCore

/// The README's first command: a neighbour search on a generated dictionary with planted structure.
struct Demo: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Generate a small SAE dictionary with planted near-toxic features and find their neighbours.")

    @Option(help: "auto (OpenCL GPUs, else cpu), cpu, or opencl:N.")
    var device = "auto"

    func run() throws {
        try Saegeo.reporting {
            let folder = FileManager.default.temporaryDirectory.appendingPathComponent("saegeo-demo-\(getpid())")
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(at: folder) }

            // 8192 features in d = 512: random directions, plus 4 "toxic" features (ids 0..3) each
            // with 6 planted neighbours at known cosines 0.9, 0.8, ..., 0.4.
            let features = 8192, dimension = 512
            let planted = PlantedDictionary.generate(features: features, dimension: dimension, toxic: 4,
                                                     neighboursPerToxic: 6, seed: 7)
            let path = folder.appendingPathComponent("W_dec.npy").path
            try planted.writeNpy(to: path)
            let toxicFile = folder.appendingPathComponent("toxic.txt").path
            try (0..<4).map(String.init).joined(separator: "\n").write(toFile: toxicFile, atomically: true, encoding: .utf8)

            let dictionary = try SAECheckpoint.open(path).decoder()
            let catalog = try DeviceCatalog()
            let engine = try catalog.engine(for: try catalog.resolve(device)[0])
            let search = try NeighborSearch(dictionary: dictionary, queries: Array(0..<4),
                                            keys: Array(0..<features), k: 8)
            let result = try search.run(on: engine)
            print("Generated a dictionary of \(features) features in d = \(dimension) with 4 toxic features (ids 0-3),")
            print("each with 6 planted neighbours at cosines 0.9, 0.8, 0.7, 0.6, 0.5, 0.4; the rest random.")
            print("Nearest features of each toxic feature on \(engine.device.id) (\(engine.device.name)):")
            var found = 0
            for q in 0..<4 {
                let row = (0..<8).map { slot -> String in
                    let id = result.indices[q * 8 + slot]
                    if planted.plantedOwner[Int(id)] == q, slot < 6 { found += 1 }
                    return String(format: "%lld (%.3f)", id, result.scores[q * 8 + slot])
                }
                print("  toxic \(q): " + row.joined(separator: ", "))
            }
            print("Recovered \(found) of 24 planted neighbours in the top 6 of their toxic feature.")
            print(String(format: "%.0f x %d x %d similarity search in %.3f s (%.1f GFLOP/s).",
                         Double(4), features, dimension, result.seconds, result.flops / max(result.seconds, 1e-9) / 1e9))
        }
    }
}
