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
