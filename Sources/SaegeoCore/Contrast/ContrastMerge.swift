import Foundation

/// `saegeo merge` for the shards of a `contrast --shard` job: checks every shard as ShardMerge
/// does (manifest, checksum, the job's work covered once, in order), adds their statistics in
/// shard order and writes the ranked table in -o's format, the single run's output.
public enum ContrastMerge {
    /// Whether `paths` are contrast shards (their first one says so).
    public static func isContrast(_ paths: [String]) -> Bool {
        guard let first = paths.first, first.lowercased().hasSuffix(".safetensors") else { return false }
        return (try? ShardManifest.read(first))?.command == .contrast
    }

    public static func merge(_ paths: [String], into output: String) throws -> ShardMerge.Summary {
        let format = [".jsonl", ".csv", ".safetensors"].first(where: output.lowercased().hasSuffix)
            ?? (OutputTarget.isStream(output) ? ".jsonl" : "")
        guard !format.isEmpty else { throw SaegeoError(.usage, "-o \(output): the merged contrast must end in .jsonl, .csv or .safetensors") }
        for path in paths { try InputFile.requireExisting(path, what: "shard") }
        let job = try Job("merge", inputs: paths, outputs: [("-o", output)])
        let shards = try ShardMerge.ordered(paths.map { ShardMerge.Shard(path: $0, manifest: try ShardManifest.read($0)) })
        var blocks: [[OutputTensor]] = []
        var dead: [Int64]?
        for shard in shards {
            guard shard.path.lowercased().hasSuffix(".safetensors") else {
                throw SaegeoError.badInput("\(shard.path): contrast shards are .safetensors files")
            }
            var tensors = try OutputTensor.all(in: SafetensorsFile(path: shard.path))
            try ShardMerge.verify(shard, checksum: shard.manifest.checksum(of: tensors))
            guard let flags = tensors.first(where: { $0.name == "dead" })?.values(Int64.self), dead == nil || dead! == flags else {
                throw SaegeoError.badInput("\(shard.path): its dead features differ from the other shards'; merge the shards of one job")
            }
            dead = flags
            tensors.removeAll { $0.name == "dead" }
            blocks.append(tensors)
        }
        let features = dead!.count
        let result = try DatasetContrast.Result(tensors: try OutputTensor.joined(blocks), features: features, source: shards[0].path)
        let ranking = FeatureContrast.ranked(a: result.a, b: result.b, differences: result.differences, dead: { dead![$0] != 0 })
        var metadata = shards[0].manifest.details
        metadata["saegeo.command"] = "contrast"
        try job.write(output) { try ContrastWriter.write(ranking, format: format, metadata: metadata, into: $0) }
        try job.commit()
        return ShardMerge.Summary(command: "contrast", shards: shards.count, items: shards[0].manifest.total)
    }
}
