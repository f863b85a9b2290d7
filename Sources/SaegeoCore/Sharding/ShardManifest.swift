import Foundation

/// What a shard output says about itself, so that `merge` can tell which job it belongs to:
/// the `saegeo.*` metadata of a .safetensors output, or for a .jsonl / .csv output the same keys
/// in a JSON file beside it (`OUT.shard.json`).
public enum ShardManifest {
    public static func path(besides output: String) -> String { output + ".shard.json" }

    public static func write(_ metadata: [String: String], besides output: String) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        let data = try encoder.encode(metadata)
        try AtomicOutput.write(to: path(besides: output)) { try $0.write(contentsOf: data) }
    }

    /// The manifest of an output file, from its metadata or the file beside it.
    public static func read(_ output: String) throws -> [String: String] {
        if output.lowercased().hasSuffix(".safetensors") { return try SafetensorsFile(path: output).metadata }
        let manifest = path(besides: output)
        guard let data = FileManager.default.contents(atPath: manifest) else {
            throw SaegeoError.badInput("\(output) is not a shard of a saegeo --shard job (or not a finished one): it has no manifest \(manifest) beside it")
        }
        guard let metadata = try? JSONDecoder().decode([String: String].self, from: data) else {
            throw SaegeoError.badFile("\(manifest) is not a saegeo shard manifest (a JSON object of strings)")
        }
        return metadata
    }
}
