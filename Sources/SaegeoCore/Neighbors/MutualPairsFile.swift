import Foundation

/// The file `neighbors --mutual` writes: `.csv` (a header `a,b,cosine`, then one pair a line,
/// sorted by a) or `.safetensors` (`a` I64, `b` I64, `cosine` F32, each [pairs]).
public enum MutualPairsFile {
    public enum Format: String, Sendable { case csv, safetensors }

    /// The format a path names, or a one-line refusal naming the option.
    public static func format(of path: String, option: String = "--mutual") throws -> Format {
        let lower = path.lowercased()
        if lower.hasSuffix(".csv") { return .csv }
        if lower.hasSuffix(".safetensors") || OutputTarget.isStream(path) { return .safetensors }
        throw SaegeoError(.usage, "\(option) \(path): mutual pairs are written as .csv or .safetensors; name the file *.csv or *.safetensors")
    }

    public static func write(_ pairs: MutualPairs, format: Format, metadata: [String: String], into sink: OutputSink) throws {
        switch format {
        case .safetensors:
            let n = pairs.a.count
            try SafetensorsWriter.write([.int64("a", shape: [n], pairs.a), .int64("b", shape: [n], pairs.b),
                                         .float32("cosine", shape: [n], pairs.cosine)],
                                        metadata: metadata, into: sink)
        case .csv:
            try sink.write("a,b,cosine\n")
            for i in pairs.a.indices {
                // Float's description is the shortest text that reads back as the same float32.
                try sink.write("\(pairs.a[i]),\(pairs.b[i]),\(pairs.cosine[i])\n")
            }
        }
    }
}
