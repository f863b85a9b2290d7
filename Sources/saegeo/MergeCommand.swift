import ArgumentParser
import Foundation
import SaegeoCore

struct Merge: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Combine the shards of a 'neighbors --shard I/N' job into the single-run output.",
        discussion: "Refuses a missing, duplicated or foreign shard (another job's inputs or options) and then writes nothing.")

    @Option(name: .short, help: "The merged .safetensors (written atomically).")
    var output: String

    @Argument(help: "The shard outputs, in any order.")
    var shards: [String]

    func run() throws {
        try Saegeo.reporting {
            guard !shards.isEmpty else { throw SaegeoError(.usage, "give the shard files to merge") }
            try AtomicOutput.checkWritable(output)
            var byIndex: [Int: SafetensorsFile] = [:]
            var expected: (job: String, count: Int)?
            for path in shards {
                let file = try SafetensorsFile(path: path)
                guard file.metadata["saegeo.command"] == "neighbors", let job = file.metadata["saegeo.job"],
                      let shardText = file.metadata["saegeo.shard"], let shard = try? ShardSpec.parse(shardText) else {
                    throw SaegeoError(.badInput, "\(path) is not a shard of a 'saegeo neighbors --shard' job")
                }
                if let expected, expected.job != job || expected.count != shard.count {
                    throw SaegeoError(.badInput, "\(path) belongs to another job (job \(job), \(shard.count) shards) than \(shards[0]) (job \(expected.job), \(expected.count) shards); merge the shards of one job")
                }
                expected = (job, shard.count)
                guard byIndex[shard.index] == nil else {
                    throw SaegeoError(.badInput, "shard \(shard) is given twice (\(path)); give each shard once")
                }
                byIndex[shard.index] = file
            }
            let count = expected!.count
            let missing = (0..<count).filter { byIndex[$0] == nil }
            guard missing.isEmpty else {
                throw SaegeoError(.badInput, "shards \(missing.map { "\($0)/\(count)" }.joined(separator: ", ")) are missing; all \(count) shards are needed")
            }
            let ordered = (0..<count).map { byIndex[$0]! }
            func bytes(_ file: SafetensorsFile, _ name: String) throws -> Data {
                guard let entry = file.entry(name) else { throw SaegeoError(.badInput, "\(file.file.path) has no tensor '\(name)'") }
                return Data(file.file.bytes[entry.byteRange])
            }
            let k = ordered[0].entry("indices")?.shape.last ?? 0
            var ids = Data(), indices = Data(), scores = Data()
            for file in ordered {
                guard file.entry("indices")?.shape.last == k else {
                    throw SaegeoError(.badInput, "\(file.file.path) has another k than \(ordered[0].file.path)")
                }
                ids += try bytes(file, "query_ids")
                indices += try bytes(file, "indices")
                scores += try bytes(file, "scores")
            }
            let rows = ids.count / 8
            guard String(rows) == ordered[0].metadata["saegeo.total_queries"] else {
                throw SaegeoError(.badInput, "the shards hold \(rows) queries but the job has \(ordered[0].metadata["saegeo.total_queries"] ?? "?")")
            }
            var metadata = ordered[0].metadata
            metadata["saegeo.shard"] = nil
            metadata["saegeo.device"] = Set(ordered.compactMap { $0.metadata["saegeo.device"] }).sorted().joined(separator: ",")
            metadata["saegeo.device_name"] = Set(ordered.compactMap { $0.metadata["saegeo.device_name"] }).sorted().joined(separator: ",")
            try SafetensorsWriter.write([
                OutputTensor(name: "query_ids", dtype: .i64, shape: [rows], data: ids),
                OutputTensor(name: "indices", dtype: .i64, shape: [rows, k], data: indices),
                OutputTensor(name: "scores", dtype: .f32, shape: [rows, k], data: scores),
            ], metadata: metadata, to: output)
            Console.info("merged \(count) shards, \(rows) queries; wrote \(output)")
        }
    }
}
