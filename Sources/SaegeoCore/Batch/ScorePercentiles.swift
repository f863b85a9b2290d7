import Foundation

/// Each sample's `percentile` within its run, as `score` writes it in .jsonl and .csv:
/// `100 * (samples of the run with a strictly lower score) / (samples of the run)`. So the lowest
/// score is 0, tied samples share one value, and a sample at percentile p outscores p% of the run;
/// `filter --drop-fraction q` drops the samples at percentile >= 100 (1 - q), up to ties.
///
/// It needs every score of the run, which a shard does not see: shards write no percentile, and
/// `merge` adds it from the shards' scores as the single run computes it, from the same float32
/// values (the shortest text of a float32 reads back as that float), so the merged file is the
/// single run's byte for byte. (Beside ScoreLines, in Batch/: it is the score files' line format
/// and merge's business, and Scoring/ depends on nothing here.)
public enum ScorePercentiles {
    public static func of(_ scores: [Float]) -> [Double] {
        let order = scores.indices.sorted { scores[$0] < scores[$1] }
        var percentiles = [Double](repeating: 0, count: scores.count)
        var lower = 0
        for (position, index) in order.enumerated() {
            if position > 0, scores[order[position - 1]] < scores[index] { lower = position }
            percentiles[index] = 100 * Double(lower) / Double(scores.count)
        }
        return percentiles
    }

    /// The field's text: the shortest decimal that reads back as the same double.
    public static func text(_ percentile: Double) -> String { "\(percentile)" }

    /// A line `score --shard` wrote, with the percentile added where a single run writes it: after
    /// `active` (`"active": N, "percentile": P` in .jsonl; a last column in .csv).
    static func adding(_ percentile: Double, to line: Data, csv: Bool) -> Data {
        let field = Data(((csv ? "," : ", \"percentile\": ") + text(percentile)).utf8)
        if csv { return line + field }
        let marker = Data("\"active\": ".utf8)
        guard let found = line.range(of: marker) else { return line }
        var end = found.upperBound
        while end < line.endIndex, (0x30...0x39).contains(line[end]) { end += 1 }
        var out = Data(line[line.startIndex..<end])
        out.append(field)
        out.append(line[end...])
        return out
    }

    /// The score of a line `score` wrote: the text after `"score": ` (.jsonl) or the second field
    /// (.csv), read as the float32 it was written from.
    static func score(of line: Data, csv: Bool) -> Float? {
        let text: Substring
        if csv {
            let fields = line.split(separator: UInt8(ascii: ","), omittingEmptySubsequences: false)
            guard fields.count >= 2 else { return nil }
            text = Substring(String(decoding: fields[1], as: UTF8.self))
        } else {
            let marker = Data("\"score\": ".utf8)
            guard let found = line.range(of: marker) else { return nil }
            let rest = line[found.upperBound...]
            let end = rest.firstIndex { $0 == UInt8(ascii: ",") || $0 == UInt8(ascii: "}") } ?? rest.endIndex
            text = Substring(String(decoding: rest[rest.startIndex..<end], as: UTF8.self))
        }
        return DecimalNumber.double(text) != nil ? Float(text) : nil
    }
}

extension ScorePercentiles {
    /// The header of a whole run's .csv (a shard's is ScoreLines.csvHeader, without the percentile).
    public static let csvHeader = ScoreLines.csvHeader + ",percentile"

    /// Writes the merge of .jsonl / .csv score shards with the percentile added to every line.
    /// `shards` reads one shard, verified, as its bytes and the offset of its first sample line;
    /// each is read twice (its scores first, since a percentile needs the whole run's; then its
    /// lines), so no more than one shard is held at a time, and a shard that changes in between
    /// fails its checksum on the second read.
    static func writeMerged(_ shards: [() throws -> (Data, Data.Index)], csv: Bool, into sink: OutputSink) throws {
        var scores: [Float] = []
        for read in shards {
            let (data, body) = try read()
            try forEachLine(data[body...]) { line in
                guard let score = score(of: line, csv: csv) else {
                    throw SaegeoError.badInput("a shard's line holds no score saegeo wrote: \(String(decoding: line.prefix(60), as: UTF8.self)); compute that shard again")
                }
                scores.append(score)
            }
        }
        let percentiles = of(scores)
        if csv { try sink.write(csvHeader + "\n") }
        var next = 0
        for read in shards {
            let (data, body) = try read()
            var text = Data()
            try forEachLine(data[body...]) { line in
                guard next < percentiles.count else {
                    throw SaegeoError.badInput("a shard changed between two reads; compute it again")
                }
                text.append(adding(percentiles[next], to: line, csv: csv))
                text.append(0x0A)
                next += 1
                if text.count > 1 << 20 {
                    try sink.write(contentsOf: text)
                    text = Data()
                }
            }
            try sink.write(contentsOf: text)
        }
    }

    /// Each newline-terminated line (ScoreLines.verify has checked that every line is).
    static func forEachLine(_ data: Data, _ body: (Data) throws -> Void) throws {
        var start = data.startIndex
        while start < data.endIndex, let newline = data[start...].firstIndex(of: 0x0A) {
            try body(data[start..<newline])
            start = newline + 1
        }
    }
}
