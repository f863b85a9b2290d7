import Foundation

/// Combines the shards of one `neighbors --shard` or `score --shard` job into exactly the output
/// of a single run: the shards' rows in shard order. A missing, duplicated or foreign shard (other
/// inputs or options, another shard count) is refused before anything is written.
public enum ShardMerge {
    public struct Summary: Sendable {
        public let command: String
        public let shards: Int
        public let items: Int
    }

    public static func merge(_ paths: [String], into output: String) throws -> Summary {
        guard !paths.isEmpty else { throw SaegeoError(.usage, "give the shard files to merge") }
        let format = try OutputFormat(output)
        var byIndex: [Int: (path: String, metadata: [String: String])] = [:]
        var expected: (job: String, count: Int, path: String)?
        for path in paths {
            guard try OutputFormat(path) == format else {
                throw SaegeoError(.usage, "\(path) is not a \(format.rawValue) file like -o \(output); merge writes the shards' own format")
            }
            let metadata = try ShardManifest.read(path)
            guard ["neighbors", "score"].contains(metadata["saegeo.command"] ?? ""), let job = metadata["saegeo.job"],
                  let text = metadata["saegeo.shard"], let shard = try? ShardSpec.parse(text, environment: [:]) else {
                throw SaegeoError.badInput("\(path) is not a shard of a 'saegeo neighbors --shard' or 'saegeo score --shard' job")
            }
            if let expected, expected.job != job || expected.count != shard.count {
                throw SaegeoError.badInput("\(path) belongs to another job (job \(job), \(shard.count) shards) than \(expected.path) (job \(expected.job), \(expected.count) shards); merge the shards of one job")
            }
            expected = (job, shard.count, path)
            guard byIndex[shard.index] == nil else {
                throw SaegeoError.badInput("shard \(shard) is given twice (\(byIndex[shard.index]!.path) and \(path)); give each shard once")
            }
            byIndex[shard.index] = (path, metadata)
        }
        let count = expected!.count
        let missing = (0..<count).filter { byIndex[$0] == nil }
        guard missing.isEmpty else {
            throw SaegeoError.badInput("shard\(missing.count > 1 ? "s" : "") \(missing.map { "\($0)/\(count)" }.joined(separator: ", ")) \(missing.count > 1 ? "are" : "is") missing; all \(count) shards are needed")
        }
        let ordered = (0..<count).map { byIndex[$0]! }
        let first = ordered[0].metadata
        let command = first["saegeo.command"]!
        let totalKey = command == "neighbors" ? "saegeo.total_queries" : "saegeo.total_samples"
        guard let total = first[totalKey].flatMap(Int.init) else {
            throw SaegeoError.badInput("\(ordered[0].path) does not say how many items its job has (\(totalKey)); it was written by an older saegeo")
        }
        var metadata = first
        metadata["saegeo.shard"] = nil
        for key in ["saegeo.device", "saegeo.device_name"] where first[key] != nil {
            metadata[key] = Set(ordered.compactMap { $0.metadata[key] }).sorted().joined(separator: ",")
        }
        let rows: Int
        switch format {
        case .safetensors:
            let blocks = try ordered.map { try OutputTensor.all(in: SafetensorsFile(path: $0.path)) }
            let tensors: [OutputTensor]
            do {
                tensors = try OutputTensor.joined(blocks)
            } catch {
                throw SaegeoError.badInput("the shards' tensors do not fit together (other names or shapes); merge the shards of one job")
            }
            rows = tensors.first?.shape.first ?? 0
            guard rows == total else {
                throw SaegeoError.badInput("the shards hold \(rows) rows but the job has \(total); merge the shards of one job")
            }
            try SafetensorsWriter.write(tensors, metadata: metadata, to: output)
        case .jsonl, .csv:
            var text = Data()
            var lines = 0
            for (position, shard) in ordered.enumerated() {
                guard let data = FileManager.default.contents(atPath: shard.path) else {
                    throw SaegeoError.io("cannot read \(shard.path)")
                }
                var body = data[...]
                // Every CSV shard has the header; the merged file has it once.
                if format == .csv, position > 0, let newline = body.firstIndex(of: 0x0A) { body = body[(newline + 1)...] }
                lines += body.reduce(0) { $0 + ($1 == 0x0A ? 1 : 0) } - (format == .csv && position == 0 ? 1 : 0)
                text += body
            }
            rows = lines
            guard rows == total else {
                throw SaegeoError.badInput("the shards hold \(rows) lines but the job has \(total) samples; merge the shards of one job")
            }
            try AtomicOutput.write(to: output) { try $0.write(contentsOf: text) }
        }
        return Summary(command: command, shards: count, items: rows)
    }

    enum OutputFormat: String {
        case safetensors = ".safetensors", jsonl = ".jsonl", csv = ".csv"

        init(_ path: String) throws {
            guard let format = [Self.safetensors, .jsonl, .csv].first(where: { path.lowercased().hasSuffix($0.rawValue) }) else {
                throw SaegeoError(.usage, "\(path): shards and their merge are .safetensors, .jsonl or .csv files")
            }
            self = format
        }
    }
}
