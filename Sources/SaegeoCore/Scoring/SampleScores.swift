import Foundation

/// Per-sample scores as `saegeo score` writes them, read back from any of its three formats:
/// `.jsonl` (one object per sample with `sample` and `score`), `.csv` (`sample,score,active`) or
/// `.safetensors` (`scores` F32 [N]). Samples must be exactly 0..<N, each once, in any order.
public struct SampleScores: Sendable, Equatable {
    public let scores: [Float]

    public init(scores: [Float]) { self.scores = scores }

    public var count: Int { scores.count }

    public static func read(_ path: String) throws -> SampleScores {
        let lower = path.lowercased()
        if lower.hasSuffix(".safetensors") { return try readSafetensors(path) }
        guard lower.hasSuffix(".jsonl") || lower.hasSuffix(".csv") else {
            throw SaegeoError.badInput("cannot tell the format of \(path); scores come as .jsonl, .csv or .safetensors")
        }
        let data = try InputFile.contents(path, what: "scores file", limit: Int.max)
        var pairs: [(Int, Float)] = []
        if lower.hasSuffix(".jsonl") {
            pairs = try jsonLines(Array(data), path: path)
        } else {
            let text = String(decoding: data, as: UTF8.self)
            if text.allSatisfy(\.isWhitespace) { return try assemble([], path: path) }
            let lines = text.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline)
            guard let header = lines.first?.split(separator: ",", omittingEmptySubsequences: false).map(String.init),
                  let sampleColumn = header.firstIndex(of: "sample"), let scoreColumn = header.firstIndex(of: "score") else {
                throw SaegeoError.badInput("\(path): the first line must name the columns sample,score[,active]")
            }
            for (index, line) in lines.enumerated().dropFirst() where !line.trimmingCharacters(in: .whitespaces).isEmpty {
                // Fields as written (DecimalNumber): " 0.5", "+0.5" and "0x1p-1" are not scores.
                let fields = line.split(separator: ",", omittingEmptySubsequences: false)
                guard fields.count == header.count, let sample = DecimalNumber.int(fields[sampleColumn]),
                      let score = DecimalNumber.double(fields[scoreColumn]).map(Float.init) else {
                    throw SaegeoError.badInput("\(path) line \(index + 1): expected \(header.joined(separator: ",")) with a sample number and a decimal score (no spaces, '+', hex, nan or inf)")
                }
                pairs.append((sample, score))
            }
        }
        return try assemble(pairs, path: path)
    }

    /// `.jsonl` lines read with StrictJSON: `sample` must be written as an integer (`1.5` or
    /// `1.0` is refused, not truncated), `score` as a number, and no key may appear twice.
    static func jsonLines(_ bytes: [UInt8], path: String) throws -> [(Int, Float)] {
        var pairs: [(Int, Float)] = []
        try bytes.withUnsafeBytes { all in
            var lineStart = 0
            var number = 0
            while lineStart < all.count {
                number += 1
                let newline = all[lineStart...].firstIndex(of: 0x0A) ?? all.count
                defer { lineStart = newline + 1 }
                var end = newline
                if end > lineStart, all[end - 1] == 0x0D { end -= 1 }   // CRLF
                let line = UnsafeRawBufferPointer(rebasing: all[lineStart..<end])
                if line.allSatisfy({ $0 == 0x20 || $0 == 0x09 }) { continue }
                let parsed = try parseLine(line, number: number, path: path)
                pairs.append((parsed.sample, Float(parsed.score)))
            }
        }
        return pairs
    }

    /// One line of a .jsonl scores file, strictly: an object with an integer "sample" and a
    /// numeric "score" (and whatever else score wrote beside them).
    static func parseLine(_ line: UnsafeRawBufferPointer, number: Int, path: String) throws
        -> (sample: Int, score: Double, object: JSONObject) {
        let value: JSONValue
        do {
            value = try StrictJSON.parse(line)
        } catch let error as StrictJSONError {
            throw SaegeoError.badInput("\(path) line \(number): not valid JSON (\(error.reason) at column \(error.offset + 1)); expected an object with \"sample\" and \"score\"")
        }
        guard let object = value.objectValue, let sampleValue = object["sample"], let scoreValue = object["score"] else {
            throw SaegeoError.badInput("\(path) line \(number): expected an object with \"sample\" and \"score\"")
        }
        guard let sample = sampleValue.intValue else {
            throw SaegeoError.badInput("\(path) line \(number): \"sample\" is \(sampleValue.doubleValue.map { "\($0)" } ?? sampleValue.kindName); it must be a whole number written as an integer")
        }
        guard let score = scoreValue.doubleValue else {
            throw SaegeoError.badInput("\(path) line \(number): \"score\" is \(scoreValue.kindName); it must be a number")
        }
        return (sample, score, object)
    }

    static func readSafetensors(_ path: String) throws -> SampleScores {
        let file = try SafetensorsFile(path: path)
        guard let tensor = file.tensor("scores"), tensor.dtype == "F32", tensor.shape.count == 1 else {
            throw SaegeoError.badInput("\(path) has no F32 tensor 'scores' of shape [N]; write it with saegeo score")
        }
        return try assemble(Array(tensor.floatValues().enumerated()), path: path)
    }

    static func assemble(_ pairs: [(Int, Float)], path: String) throws -> SampleScores {
        guard !pairs.isEmpty else {
            throw SaegeoError.badInput("\(path) holds no samples; score a dataset first (saegeo score)")
        }
        var scores = [Float](repeating: .nan, count: pairs.count)
        var seen = [Bool](repeating: false, count: pairs.count)
        for (sample, score) in pairs {
            guard sample >= 0, sample < pairs.count else {
                throw SaegeoError.badInput("\(path): sample \(sample) is out of range for \(pairs.count) samples; samples must be numbered 0..<N")
            }
            guard !seen[sample] else { throw SaegeoError.badInput("\(path): sample \(sample) appears twice") }
            guard score.isFinite else { throw SaegeoError.badInput("\(path): sample \(sample) has score \(score); scores must be finite") }
            seen[sample] = true
            scores[sample] = score
        }
        return SampleScores(scores: scores)
    }
}

/// Each sample's `percentile` within its run, as `score` writes it in .jsonl and .csv:
/// `100 * (samples of the run with a strictly lower score) / (samples of the run)`. So the lowest
/// score is 0, tied samples share one value, and a sample at percentile p outscores p% of the run;
/// `filter --drop-fraction q` drops the samples at percentile >= 100 (1 - q), up to ties.
///
/// It needs every score of the run, which a shard does not see: shards write no percentile, and
/// `merge` adds it from the shards' scores as the single run computes it, from the same float32
/// values (the shortest text of a float32 reads back as that float), so the merged file is the
/// single run's byte for byte.
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
