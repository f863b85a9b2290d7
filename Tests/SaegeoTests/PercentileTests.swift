import Foundation
import Testing
@testable import SaegeoCore

/// `score`'s `percentile`: 100 x (samples of the run with a strictly lower score) / samples, the
/// same for a single run and for merged shards (which carry none; merge adds it).
@Suite(.serialized)
struct PercentileTests {
    static let job = ExampleJob.inTestFolder("percentile-job", features: 150, dimension: 16, samples: 61, tokens: 3, seed: 8)

    @Test("the definition: strictly lower scores, ties share a value, the lowest is 0")
    func definition() {
        #expect(ScorePercentiles.of([0.3, 0.1, 0.3, 0.2]) == [50, 0, 50, 25])
        #expect(ScorePercentiles.of([0, 0, 0]) == [0, 0, 0])
        #expect(ScorePercentiles.of([0.5]) == [0])
    }

    func score(_ out: String, _ extra: [String] = []) throws {
        let run = try CommandRunner.saegeo(["score", "--sae", Self.job.saePath, "--toxic", Self.job.toxicPath,
                                            "--activations", Self.job.activationsPath, "--offsets", "offsets",
                                            "-o", out, "--device", "cpu"] + extra)
        #expect(run.status == 0, "\(run.stderr)")
    }

    @Test("jsonl and csv carry the percentile; shards merge into the single run byte for byte", arguments: ["jsonl", "csv"])
    func singleAndMerged(_ ext: String) throws {
        let folder = TestFiles.path("percentile-\(ext)")
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let single = folder + "/single.\(ext)"
        try score(single, ext == "jsonl" ? ["--explain", "2"] : [])
        let text = try String(contentsOfFile: single, encoding: .utf8)
        var lines = text.split(separator: "\n").map(String.init)
        var scores: [Float] = [], written: [Double] = []
        if ext == "csv" {
            #expect(lines.removeFirst() == "sample,score,active,percentile")
            for line in lines {
                let fields = line.split(separator: ",")
                scores.append(try #require(Float(fields[1])))
                written.append(try #require(fields.count == 4 ? Double(fields[3]) : nil, "no percentile in \(line)"))
            }
        } else {
            // The fields' text, not JSONSerialization, whose number parsing is off by an ulp at times.
            func field(_ name: String, _ line: String) -> String {
                guard let found = line.range(of: "\"\(name)\": ") else { return "" }
                let rest = line[found.upperBound...]
                return String(rest.prefix { $0 != "," && $0 != "}" })
            }
            for line in lines {
                _ = try JSONSerialization.jsonObject(with: Data(line.utf8))   // valid JSON
                scores.append(try #require(Float(field("score", line))))
                written.append(try #require(Double(field("percentile", line)), "no percentile in \(line)"))
                #expect(line.contains("\"active\": \(field("active", line)), \"percentile\": "), "\(line)")
            }
        }
        #expect(scores.count == Self.job.size.samples)
        let expected = scores.map { s in 100 * Double(scores.filter { $0 < s }.count) / Double(scores.count) }
        #expect(written == expected)
        #expect(Set(written).count > 10, "the fixture's scores spread")

        var shards: [String] = []
        for i in 0..<3 {
            let out = folder + "/shard\(i).\(ext)"
            try score(out, (ext == "jsonl" ? ["--explain", "2"] : []) + ["--shard", "\(i)/3"])
            #expect(try !String(contentsOfFile: out, encoding: .utf8).contains("percentile"), "a shard sees only its samples")
            shards.append(out)
        }
        let merged = folder + "/merged.\(ext)"
        let merge = try CommandRunner.saegeo(["merge", "-o", merged] + shards)
        #expect(merge.status == 0, "\(merge.stderr)")
        #expect(try Data(contentsOf: URL(fileURLWithPath: merged)) == Data(contentsOf: URL(fileURLWithPath: single)))
        // Every reader still reads the file.
        #expect(try SampleScores.read(merged).scores == scores)
    }
}
