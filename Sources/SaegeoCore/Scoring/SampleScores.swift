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
        guard let data = FileManager.default.contents(atPath: path) else {
            throw SaegeoError.io("cannot read the scores file \(path); check the path and its permissions")
        }
        let text = String(decoding: data, as: UTF8.self)
        var pairs: [(Int, Float)] = []
        if lower.hasSuffix(".jsonl") {
            for (index, line) in text.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline).enumerated()
            where !line.trimmingCharacters(in: .whitespaces).isEmpty {
                guard let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
                      let sample = (object["sample"] as? NSNumber)?.intValue,
                      let score = (object["score"] as? NSNumber)?.doubleValue else {
                    throw SaegeoError.badInput("\(path) line \(index + 1): expected an object with \"sample\" and \"score\"")
                }
                pairs.append((sample, Float(score)))
            }
        } else {
            let lines = text.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline)
            guard let header = lines.first?.split(separator: ",").map({ $0.trimmingCharacters(in: .whitespaces) }),
                  let sampleColumn = header.firstIndex(of: "sample"), let scoreColumn = header.firstIndex(of: "score") else {
                throw SaegeoError.badInput("\(path): the first line must name the columns sample,score[,active]")
            }
            for (index, line) in lines.enumerated().dropFirst() where !line.trimmingCharacters(in: .whitespaces).isEmpty {
                let fields = line.split(separator: ",", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
                guard fields.count == header.count, let sample = Int(fields[sampleColumn]), let score = Float(fields[scoreColumn]) else {
                    throw SaegeoError.badInput("\(path) line \(index + 1): expected \(header.joined(separator: ",")) with a sample number and a score")
                }
                pairs.append((sample, score))
            }
        }
        return try assemble(pairs, path: path)
    }

    static func readSafetensors(_ path: String) throws -> SampleScores {
        let file = try SafetensorsFile(path: path)
        guard let tensor = file.tensor("scores"), tensor.dtype == "F32", tensor.shape.count == 1 else {
            throw SaegeoError.badInput("\(path) has no F32 tensor 'scores' of shape [N]; write it with saegeo score")
        }
        return try assemble(Array(tensor.floatValues().enumerated()), path: path)
    }

    static func assemble(_ pairs: [(Int, Float)], path: String) throws -> SampleScores {
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
