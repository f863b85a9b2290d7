import Foundation
import Testing
@testable import SaegeoCore

/// `saegeo filter`: exactly the specified samples dropped, the rest kept in order.
@Suite(.serialized)
struct FilterTests {
    static let scores: [Float] = [0.1, 0.9, 0.5, 0.9, 0.0, 0.7, 0.5, 0.2, 0.9, 0.3, 0.05]

    @Test("geometry drops ceil(qN) highest scores, ties to the lower sample")
    func geometry() throws {
        let s = SampleScores(scores: Self.scores)
        // 11 samples: q = 0.3 -> ceil(3.3) = 4: the three 0.9s (1, 3, 8), then 0.7 (5).
        #expect(try SampleFilter.dropped(s, fraction: 0.3, strategy: .geometry, seed: 0) == [1, 3, 5, 8])
        // q = 0.2 -> ceil(2.2) = 3: the three 0.9s; q such that qN is exact stays exact.
        #expect(try SampleFilter.dropped(s, fraction: 0.2, strategy: .geometry, seed: 0) == [1, 3, 8])
        #expect(try SampleFilter.dropCount(samples: 10, fraction: 0.3) == 3)
        #expect(try SampleFilter.dropCount(samples: 11, fraction: 0.0) == 0)
        #expect(try SampleFilter.dropCount(samples: 11, fraction: 1.0) == 11)
        // Ties at the cut: 0.5 at samples 2 and 6, the lower one goes first.
        #expect(try SampleFilter.dropped(s, fraction: 5.0 / 11, strategy: .geometry, seed: 0) == [1, 2, 3, 5, 8])
        #expect(throws: SaegeoError.self) { try SampleFilter.dropCount(samples: 3, fraction: 1.5) }
    }

    @Test("random drops the same count, reproducibly from the seed")
    func random() throws {
        let s = SampleScores(scores: (0..<1000).map { Float($0) })
        let a = try SampleFilter.dropped(s, fraction: 0.1, strategy: .random, seed: 42)
        #expect(a.count == 100 && Set(a).count == 100 && a == a.sorted())
        #expect(try SampleFilter.dropped(s, fraction: 0.1, strategy: .random, seed: 42) == a)
        #expect(try SampleFilter.dropped(s, fraction: 0.1, strategy: .random, seed: 43) != a)
        // Not simply the highest or lowest scores.
        #expect(a != Array(900..<1000) && a != Array(0..<100))
    }

    @Test("the three score formats read back the same scores; malformed ones are refused")
    func formats() throws {
        let jsonl = try TestFiles.write(Self.scores.enumerated().reversed()
            .map { "{\"sample\": \($0.offset), \"score\": \($0.element), \"active\": 3, \"explain\": []}" }.joined(separator: "\n"), to: "s.jsonl")
        let csv = try TestFiles.write("sample,score,active\n" + Self.scores.enumerated().map { "\($0.offset),\($0.element),1" }.joined(separator: "\n") + "\n", to: "s.csv")
        let st = TestFiles.path("s.safetensors")
        try SafetensorsWriter.write([.float32("scores", shape: [Self.scores.count], Self.scores),
                                     .int64("active", shape: [Self.scores.count], Self.scores.map { _ in 1 })],
                                    metadata: [:], to: st)
        for path in [jsonl, csv, st] {
            #expect(try SampleScores.read(path).scores == Self.scores, "\(path)")
        }
        let gap = try TestFiles.write("{\"sample\": 0, \"score\": 1}\n{\"sample\": 2, \"score\": 1}\n", to: "gap.jsonl")
        let twice = try TestFiles.write("sample,score\n0,1\n0,2\n", to: "twice.csv")
        let text = try TestFiles.write("hello\n", to: "text.jsonl")
        for bad in [gap, twice, text, "/nonexistent/s.jsonl", TestFiles.path("x.txt")] {
            #expect(throws: SaegeoError.self, "\(bad)") { try SampleScores.read(bad) }
        }
    }

    @Test("the CLI keeps the other lines in order, lists the dropped ids, and refuses a line-count mismatch")
    func commandLine() throws {
        let scores = try TestFiles.write("sample,score,active\n" + Self.scores.enumerated().map { "\($0.offset),\($0.element),1" }.joined(separator: "\n"), to: "cli-scores.csv")
        let lines = Self.scores.indices.map { "{\"text\": \"sample \($0)\"}" }
        let data = try TestFiles.write(lines.joined(separator: "\n") + "\n", to: "data.jsonl")
        let kept = TestFiles.path("kept.jsonl"), dropped = TestFiles.path("dropped.txt")
        let run = try CommandRunner.saegeo(["filter", "--scores", scores, "--drop-fraction", "0.3",
                                            "--dataset", data, "-o", kept, "--dropped", dropped])
        #expect(run.status == 0, "\(run.stderr)")
        let keptLines = try String(contentsOfFile: kept, encoding: .utf8).split(separator: "\n").map(String.init)
        #expect(keptLines == [0, 2, 4, 6, 7, 9, 10].map { lines[$0] })
        #expect(try String(contentsOfFile: dropped, encoding: .utf8) == "1\n3\n5\n8\n")

        let short = try TestFiles.write(lines.dropLast().joined(separator: "\n") + "\n", to: "short.jsonl")
        let kept2 = TestFiles.path("kept2.jsonl"), dropped2 = TestFiles.path("dropped2.txt")
        let mismatch = try CommandRunner.saegeo(["filter", "--scores", scores, "--drop-fraction", "0.3",
                                                 "--dataset", short, "-o", kept2, "--dropped", dropped2])
        #expect(mismatch.status == 1 && mismatch.stderr.contains("has 10 lines"), "\(mismatch.stderr)")
        #expect(!FileManager.default.fileExists(atPath: kept2) && !FileManager.default.fileExists(atPath: dropped2))

        let random = try CommandRunner.saegeo(["filter", "--scores", scores, "--drop-fraction", "0.3", "--strategy", "random",
                                               "--seed", "7", "--dropped", dropped2])
        #expect(random.status == 0)
        #expect(try String(contentsOfFile: dropped2, encoding: .utf8).split(separator: "\n").count == 4)
        let alone = try CommandRunner.saegeo(["filter", "--scores", scores, "--drop-fraction", "0.3", "--dataset", data])
        #expect(alone.status != 0 && alone.stderr.contains("go together"), "\(alone.stderr)")
    }
}
