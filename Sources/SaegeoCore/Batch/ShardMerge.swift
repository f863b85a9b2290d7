import Foundation

/// Combines the shards of one `neighbors --shard` or `score --shard` job into exactly the output
/// of a single run: the shards' rows in shard order. Every shard is checked before it is used:
/// its manifest, its checksum, that the shards cover the job's items once, in order, without gaps,
/// and for .jsonl / .csv shards that every line is the next sample of its range. A missing,
/// duplicated, foreign or damaged shard is refused with one line, and nothing is written.
public enum ShardMerge {
    public struct Summary: Sendable {
        public let command: String
        public let shards: Int
        public let items: Int
    }

    struct Shard {
        let path: String
        let manifest: ShardManifest
    }

    /// Another output that a merge writes from its verified shards, in the same job (so all of
    /// them appear together or none): `merge --summary`'s dataset summary, made from the sums
    /// beside score shards (Scoring/ShardSums) by a caller this folder does not depend on.
    public struct Companion {
        public let option: String
        public let path: String
        /// The file it reads beside each shard (an input of the merge's job).
        public let besides: (String) -> String
        /// Its bytes, from the shards in shard order (paths and manifests); called before the
        /// shards are joined, so that a missing or damaged file beside them costs nothing.
        public let make: ([(path: String, manifest: ShardManifest)]) throws -> Data

        public init(option: String, path: String, besides: @escaping (String) -> String,
                    make: @escaping ([(path: String, manifest: ShardManifest)]) throws -> Data) {
            self.option = option
            self.path = path
            self.besides = besides
            self.make = make
        }
    }

    public static func merge(_ paths: [String], into output: String, companion: Companion? = nil) throws -> Summary {
        guard !paths.isEmpty else { throw SaegeoError(.usage, "give the shard files to merge") }
        let format = try OutputFormat(output)
        for path in paths where try OutputFormat(path) != format {
            throw SaegeoError(.usage, "\(path) is not a \(format.rawValue) file like -o \(output); merge writes the shards' own format")
        }
        for path in paths { try InputFile.requireExisting(path, what: "shard") }
        let manifests = format == .safetensors ? [] : paths.map(ShardManifest.path(besides:))
        let besides = companion.map { companion in paths.map(companion.besides) } ?? []
        let job = try Job("merge", inputs: paths + (manifests + besides).filter { FileManager.default.fileExists(atPath: $0) },
                          outputs: [("-o", output)] + (companion.map { [($0.option, $0.path)] } ?? []))
        let shards = try ordered(paths.map { Shard(path: $0, manifest: try ShardManifest.read($0)) })
        let first = shards[0].manifest
        guard first.command != .neighborPairs else {
            throw SaegeoError.badInput("\(shards[0].path) holds all-pairs candidates, which need the exact ranking of 'saegeo merge' (PairShardMerge), not a join")
        }
        let companionBytes = try companion?.make(shards.map { ($0.path, $0.manifest) })
        var merged = ShardManifest(command: first.command, job: first.job, shard: nil, total: first.total,
                                   range: 0..<first.total, details: first.details)
        for key in ["saegeo.device", "saegeo.device_name"] where first.details[key] != nil {
            merged.details[key] = Set(shards.compactMap { $0.manifest.details[key] }).sorted().joined(separator: ",")
        }
        switch format {
        case .safetensors:
            var blocks: [[OutputTensor]] = []
            for shard in shards {
                let tensors = try OutputTensor.all(in: SafetensorsFile(path: shard.path))
                try verify(shard, checksum: shard.manifest.checksum(of: tensors))
                guard tensors.first?.shape.first == shard.manifest.range.count else {
                    throw SaegeoError.badInput("\(shard.path) holds \(tensors.first?.shape.first ?? 0) rows but its range \(shard.manifest.range) has \(shard.manifest.range.count); compute that shard again")
                }
                blocks.append(tensors)
            }
            let tensors: [OutputTensor]
            do {
                tensors = try OutputTensor.joined(blocks)
            } catch {
                throw SaegeoError.badInput("the shards' tensors do not fit together (other names or shapes); merge the shards of one job")
            }
            merged.checksum = merged.checksum(of: tensors)
            try job.write(output) { try SafetensorsWriter.write(tensors, metadata: merged.metadata, into: $0) }
        case .jsonl, .csv:
            // Shards hold no percentile (it needs the whole run's scores); the merge adds it.
            let reads = shards.map { shard in
                { () throws -> (Data, Data.Index) in
                    let data = try InputFile.contents(shard.path, what: "shard", limit: Int.max)
                    try verify(shard, checksum: shard.manifest.checksum(ofText: data))
                    return (data, try ScoreLines.verify(data, csv: format == .csv, samples: shard.manifest.range, path: shard.path))
                }
            }
            try job.write(output) { sink in try ScorePercentiles.writeMerged(reads, csv: format == .csv, into: sink) }
        }
        if let companion, let companionBytes {
            try job.write(companion.path) { try $0.write(contentsOf: companionBytes) }
        }
        try job.commit()
        return Summary(command: first.command.rawValue, shards: shards.count, items: first.total)
    }

    static func verify(_ shard: Shard, checksum: String) throws {
        guard checksum == shard.manifest.checksum else {
            throw SaegeoError.badInput("\(shard.path) fails its checksum (\(checksum), its manifest says \(shard.manifest.checksum)): it was damaged or edited; compute that shard again")
        }
    }

    /// The shards of one job, in shard order, covering its items exactly once.
    static func ordered(_ shards: [Shard]) throws -> [Shard] {
        let first = shards[0]
        var byIndex: [Int: Shard] = [:]
        for shard in shards {
            guard let spec = shard.manifest.shard else {
                throw SaegeoError.badInput("\(shard.path) is not a shard of a 'saegeo neighbors --shard' or 'saegeo score --shard' job (it is a whole run's output)")
            }
            let expected = first.manifest
            guard shard.manifest.job == expected.job, shard.manifest.command == expected.command,
                  spec.count == expected.shard!.count, shard.manifest.total == expected.total else {
                throw SaegeoError.badInput("\(shard.path) belongs to another job (job \(shard.manifest.job), \(spec.count) shards) than \(first.path) (job \(expected.job), \(expected.shard!.count) shards); merge the shards of one job")
            }
            if let other = byIndex[spec.index] {
                throw SaegeoError.badInput("shard \(spec) is given twice (\(other.path) and \(shard.path)); give each shard once")
            }
            byIndex[spec.index] = shard
        }
        let count = first.manifest.shard!.count
        let missing = (0..<count).filter { byIndex[$0] == nil }
        guard missing.isEmpty else {
            throw SaegeoError.badInput("shard\(missing.count > 1 ? "s" : "") \(missing.map { "\($0)/\(count)" }.joined(separator: ", ")) \(missing.count > 1 ? "are" : "is") missing; all \(count) shards are needed")
        }
        let ordered = (0..<count).map { byIndex[$0]! }
        var next = 0
        for shard in ordered {
            let range = shard.manifest.range
            let fits = range.lowerBound == next
                && (shard.manifest.command != .neighbors || range == shard.manifest.shard!.range(of: shard.manifest.total))
            guard fits else {
                throw SaegeoError.badInput("\(shard.path) says it holds items \(range.lowerBound)..<\(range.upperBound), but shard \(shard.manifest.shard!) must start at \(next); its manifest was edited: compute that shard again")
            }
            next = range.upperBound
        }
        guard next == first.manifest.total else {
            throw SaegeoError.badInput("the shards cover \(next) of the job's \(first.manifest.total) items; their manifests were edited: compute them again")
        }
        return ordered
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
