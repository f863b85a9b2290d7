import Foundation
import Testing
@testable import SaegeoCore

/// Issue 22's smaller dead ends: a forgotten --offsets warned about, neighbours as a long csv,
/// summaries in words, and contrast's `dead` written alike in .jsonl and .csv.
@Suite(.serialized)
struct SmallItemsTests {
    static let job = ExampleJob.inTestFolder("small-items-job", features: 120, dimension: 16, samples: 40, tokens: 3, seed: 5)
    static let dictionary = try! TestDictionary.make(features: 40, dimension: 12, seed: 3, dead: [4], duplicates: [(8, 2)])

    @Test("score and contrast without --offsets on a file holding an offsets tensor warn in one line")
    func forgottenOffsetsWarn() throws {
        let out = TestFiles.path("small-items-rows.jsonl")
        let run = try CommandRunner.saegeo(["score", "--sae", Self.job.saePath, "--toxic", Self.job.toxicPath,
                                            "--activations", Self.job.activationsPath, "-o", out, "--device", "cpu"])
        #expect(run.status == 0, "\(run.stderr)")
        let warnings = run.stderr.split(separator: "\n").filter { $0.contains("warning:") }
        #expect(warnings.count == 1 && warnings[0].contains("holds an I64 tensor 'offsets' but --offsets was not given")
                && warnings[0].contains("pass --offsets offsets"), "\(run.stderr)")
        // With --offsets there is nothing to warn about.
        let grouped = try CommandRunner.saegeo(["score", "--sae", Self.job.saePath, "--toxic", Self.job.toxicPath,
                                                "--activations", Self.job.activationsPath, "--offsets", "offsets", "-o", out, "--device", "cpu"])
        #expect(grouped.status == 0 && !grouped.stderr.contains("warning:"), "\(grouped.stderr)")
        // contrast reads activations the same way, for both of its sets.
        let j = try ContrastCommandTests.job("small-items-offsets")
        let contrast = try CommandRunner.saegeo(["contrast", "--sae", j.sae, "--activations", j.a, "--baseline", j.b,
                                                 "--device", "cpu", "-o", j.folder + "/out.jsonl"])
        #expect(contrast.status == 0, "\(contrast.stderr)")
        #expect(contrast.stderr.contains("but --offsets was not given") && contrast.stderr.contains("but --baseline-offsets was not given"),
                "\(contrast.stderr)")
    }

    @Test("neighbors -o x.csv writes the long table query,rank,key,cosine, empty slots left out")
    func neighborsCSV() throws {
        let queries = try TestFiles.write("0\n4\n8\n30\n", to: "small-items-queries.txt")
        let keys = try TestFiles.write("1\n2\n4\n8\n17\n", to: "small-items-keys.txt")
        let base = ["neighbors", "--sae", Self.dictionary.path, "--queries", queries, "--keys", keys, "-k", "6", "--device", "cpu"]
        let st = TestFiles.path("small-items-neighbors.safetensors"), csv = TestFiles.path("small-items-neighbors.csv")
        let a = try CommandRunner.saegeo(base + ["-o", st]), b = try CommandRunner.saegeo(base + ["-o", csv])
        #expect(a.status == 0 && b.status == 0, "\(a.stderr) \(b.stderr)")
        let file = try SafetensorsContents(path: st)
        let ids = file.int64("query_ids"), indices = file.int64("indices"), scores = file.float32("scores")
        var expected = "query,rank,key,cosine\n"
        for (row, q) in ids.enumerated() {
            for slot in 0..<6 where indices[row * 6 + slot] >= 0 {
                expected += "\(q),\(slot + 1),\(indices[row * 6 + slot]),\(scores[row * 6 + slot])\n"
            }
        }
        let text = try String(contentsOfFile: csv, encoding: .utf8)
        #expect(text == expected)
        #expect(!text.contains("-1,") && !text.contains("inf"), "no empty slot is written")
        #expect(!text.contains("\n4,"), "the dead query 4 has no line")
        #expect(b.stderr.contains("wrote \(csv)"), "\(b.stderr)")
        // A shard's output is what merge reads back: safetensors only.
        let shard = try CommandRunner.saegeo(base + ["-o", csv, "--shard", "0/2"])
        #expect(shard.status != 0 && shard.stderr.hasPrefix("saegeo: error:") && shard.stderr.contains("*.safetensors"), "\(shard.stderr)")
        // The summary says what the exhaustive count means.
        #expect(a.stderr.contains("certified from its float32 candidates") || a.stderr.contains("re-ranked exactly over every key"), "\(a.stderr)")
        #expect(!a.stderr.contains("ranked exhaustively"))
    }

    @Test("contrast writes dead as true/false in both .jsonl and .csv")
    func deadAlike() throws {
        let j = try ContrastCommandTests.job("small-items-dead")
        for ext in ["jsonl", "csv"] {
            let run = try ContrastCommandTests.contrast(j, ["-o", j.folder + "/out.\(ext)"])
            #expect(run.status == 0, "\(run.stderr)")
        }
        let jsonl = try String(contentsOfFile: j.folder + "/out.jsonl", encoding: .utf8).split(separator: "\n")
            .map { try JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any] }
        let csv = try String(contentsOfFile: j.folder + "/out.csv", encoding: .utf8).split(separator: "\n").dropFirst()
            .map { String($0.split(separator: ",").last!) }
        #expect(csv.count == jsonl.count)
        #expect(csv == jsonl.map { ($0["dead"] as! Bool) ? "true" : "false" })
        #expect(csv.contains("true") && csv.contains("false"), "the fixture has dead and live features")
    }
}
