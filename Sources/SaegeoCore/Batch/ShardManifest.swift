import Foundation

/// What an output of a shardable job says about itself, so that `merge` and a resumed run can
/// tell whether to trust it: the command, the job (a fingerprint of its inputs and options), the
/// shard, the items of the whole job and the exact range this file holds, and a checksum of its
/// contents. It travels as `saegeo.*` metadata: inside a .safetensors output, or for a .jsonl /
/// .csv output in a JSON file beside it (`OUT.shard.json`). Descriptive keys (the SAE, the device,
/// k, ...) ride along in `details`.
public struct ShardManifest: Sendable, Equatable {
    /// `neighbors-pairs`: a shard of sharded all pairs, holding float32 candidates of tile pairs
    /// (its items are the job's tile pairs), which only `merge` turns into neighbours.
    public enum Command: String, Sendable { case neighbors, score, contrast, neighborPairs = "neighbors-pairs" }

    public var command: Command
    public var job: String
    public var shard: ShardSpec?
    /// Items (queries, samples or tile pairs) of the whole job.
    public var total: Int
    /// The items this file holds.
    public var range: Range<Int>
    /// `crc32:XXXXXXXX` of `identity` followed by the contents (see `checksum(of:)`).
    public var checksum: String
    /// Other `saegeo.*` keys, for people and for the merged file.
    public var details: [String: String]

    public init(command: Command, job: String, shard: ShardSpec?, total: Int, range: Range<Int>,
                checksum: String = "", details: [String: String] = [:]) {
        self.command = command
        self.job = job
        self.shard = shard
        self.total = total
        self.range = range
        self.checksum = checksum
        self.details = details
    }

    enum Key {
        static let command = "saegeo.command", job = "saegeo.job", shard = "saegeo.shard", total = "saegeo.total"
        static let range = "saegeo.range", checksum = "saegeo.checksum"
        static let all: Set<String> = [command, job, shard, total, range, checksum]
    }

    public var metadata: [String: String] {
        var metadata = details
        metadata[Key.command] = command.rawValue
        metadata[Key.job] = job
        metadata[Key.shard] = shard?.description
        metadata[Key.total] = String(total)
        metadata[Key.range] = "\(range.lowerBound)..<\(range.upperBound)"
        metadata[Key.checksum] = checksum
        return metadata
    }

    /// Reads a manifest strictly; `source` names the file in the messages.
    public init(metadata: [String: String], source: String) throws {
        func bad(_ what: String) -> SaegeoError {
            SaegeoError.badInput("\(source) is not a shard of a 'saegeo neighbors --shard' or 'saegeo score --shard' job (\(what))")
        }
        guard let command = metadata[Key.command].flatMap(Command.init(rawValue:)) else { throw bad("no saegeo.command") }
        guard let job = metadata[Key.job], !job.isEmpty else { throw bad("no saegeo.job") }
        guard let total = metadata[Key.total].flatMap(Int.init), total >= 0 else { throw bad("no saegeo.total") }
        guard let range = metadata[Key.range].flatMap(Self.parseRange), range.upperBound <= total else {
            throw bad("no valid saegeo.range within its \(total) items")
        }
        guard let checksum = metadata[Key.checksum], checksum.hasPrefix("crc32:") else { throw bad("no saegeo.checksum") }
        var shard: ShardSpec?
        if let text = metadata[Key.shard] {
            guard let parsed = try? ShardSpec.parse(text, environment: [:]), text != "slurm" else { throw bad("saegeo.shard \(text)") }
            shard = parsed
        }
        self.init(command: command, job: job, shard: shard, total: total, range: range, checksum: checksum,
                  details: metadata.filter { !Key.all.contains($0.key) })
    }

    static func parseRange(_ text: String) -> Range<Int>? {
        let parts = text.components(separatedBy: "..<")
        guard parts.count == 2, let low = Int(parts[0]), let high = Int(parts[1]), low >= 0, low <= high else { return nil }
        return low..<high
    }

    /// What the checksum covers besides the contents: the job, the shard and the range, so that a
    /// relabelled file fails its check as surely as a damaged one.
    public var identity: String {
        "\(command.rawValue)|\(job)|\(shard?.description ?? "whole")|\(total)|\(range.lowerBound)..<\(range.upperBound)|"
    }

    /// The checksum of tensors under this manifest's identity (names, dtypes, shapes and bytes), in
    /// name order: a file read back lists empty tensors, which share an offset, in any order.
    public func checksum(of tensors: [OutputTensor]) -> String {
        var sum = Checksum()
        sum.add(identity)
        for tensor in tensors.sorted(by: { $0.name < $1.name }) {
            sum.add("\(tensor.name)|\(tensor.dtype.rawValue)|\(tensor.shape)|")
            sum.add(tensor.data)
        }
        return sum.description
    }

    /// The checksum of a text output's bytes under this manifest's identity.
    public func checksum(ofText data: Data) -> String {
        var sum = Checksum()
        sum.add(identity)
        sum.add(data)
        return sum.description
    }

    // MARK: files

    public static func path(besides output: String) -> String { output + ".shard.json" }

    /// The manifest file of a text output, as JSON.
    public var json: Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        return (try? encoder.encode(metadata)) ?? Data()
    }

    /// The manifest of an output file: its metadata (.safetensors) or the file beside it.
    public static func read(_ output: String) throws -> ShardManifest {
        if output.lowercased().hasSuffix(".safetensors") {
            return try ShardManifest(metadata: SafetensorsFile(path: output).metadata, source: output)
        }
        let manifest = path(besides: output)
        guard FileManager.default.fileExists(atPath: manifest) else {
            throw SaegeoError.badInput("\(output) is not a shard of a saegeo --shard job (or not a finished one): it has no manifest \(manifest) beside it")
        }
        return try parse(json: InputFile.contents(manifest, what: "shard manifest", limit: 1 << 20), manifest: manifest, output: output)
    }

    /// A manifest file's bytes: a JSON object of strings.
    static func parse(json data: Data, manifest: String, output: String) throws -> ShardManifest {
        guard let object = (try? data.withUnsafeBytes { try StrictJSON.parse($0) })?.objectValue else {
            throw SaegeoError.badFile("\(manifest) is not a saegeo shard manifest (a JSON object of strings); merge the shards saegeo wrote")
        }
        var metadata: [String: String] = [:]
        for (key, value) in object.members {
            guard case .string(let text) = value else {
                throw SaegeoError.badFile("\(manifest): \(key) is not a string; merge the shards saegeo wrote")
            }
            metadata[key] = text
        }
        return try ShardManifest(metadata: metadata, source: output)
    }
}
