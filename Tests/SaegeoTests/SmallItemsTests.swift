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
        #expect(a.stderr.contains("certified from its candidates") || a.stderr.contains("re-ranked exactly over every key"), "\(a.stderr)")
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

    @Test("plan's estimate adds the transfers at --assume-bandwidth (default 25 GB/s), not FLOPs alone")
    func planTransfers() throws {
        let queries = try TestFiles.write("0\n1\n2\n", to: "small-items-plan-queries.txt")
        let base = ["plan", "--sae", Self.dictionary.path, "--queries", queries, "-k", "4", "--assume-memory", "80GiB", "--json"]
        // So fast an arithmetic that only the transfers are left: the "0.0 s with 9 GiB transferred".
        for (extra, gbs) in [([String](), 25.0), (["--assume-bandwidth", "0.000001"], 0.000001)] {
            let run = try CommandRunner.saegeo(base + ["--assume-gflops", "1000000000"] + extra)
            #expect(run.status == 0, "\(run.stderr)")
            let report = try #require(try? JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [String: Any], "\(run.stderr)")
            let flops = try #require(report["flops"] as? Double), bytes = try #require(report["transfer_bytes"] as? Double)
            let seconds = try #require(report["estimated_seconds"] as? Double)
            #expect(bytes > 0 && report["assumed_bandwidth_gbs"] as? Double == gbs)
            #expect(abs(seconds - (flops / 1e18 + bytes / (gbs * 1e9))) <= 1e-12 * seconds, "\(run.stdout)")
            let transfer = try #require(report["transfer_seconds"] as? Double)
            #expect(abs(transfer - bytes / (gbs * 1e9)) <= 1e-12 * seconds)
        }
        let text = try CommandRunner.saegeo(Array(base.dropLast()) + ["--assume-gflops", "10"])
        #expect(text.stdout.contains("of transfers at 25 GB/s per device"), "\(text.stdout)")
        for bad in [["--assume-bandwidth", "0", "--assume-gflops", "10"], ["--assume-bandwidth", "10"]] {
            let run = try CommandRunner.saegeo(base + bad)
            #expect(run.status != 0 && run.stderr.hasPrefix("saegeo: error:") && run.stderr.contains("--assume-bandwidth")
                    && run.stderr.split(separator: "\n").count == 1, "\(run.stderr)")
        }
    }

    @Test("bench compare draws and prints device names whole")
    func benchNamesWhole() throws {
        let report = TestFiles.path("small-items-bench.json"), svg = TestFiles.path("small-items-bench.svg")
        let run = try CommandRunner.saegeo(["bench", "--device", "cpu", "--budget", "1", "--json", report])
        #expect(run.status == 0, "\(run.stderr)")
        // A name as long as real ones get (driver, board, memory): 70 characters.
        let long = "NVIDIA H100 80GB HBM3 (SXM5, 700 W) board 2 of 8, driver 550.54.15 xyz"
        var object = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: report))) as! [String: Any]
        var devices = object["devices"] as! [[String: Any]]
        devices[0]["name"] = long
        object["devices"] = devices
        try JSONSerialization.data(withJSONObject: object).write(to: URL(fileURLWithPath: report))
        let compare = try CommandRunner.saegeo(["bench", "compare", report, "--svg", svg])
        #expect(compare.status == 0, "\(compare.stderr)")
        #expect(compare.stdout.contains(long), "\(compare.stdout)")
        let chart = try String(contentsOfFile: svg, encoding: .utf8)
        #expect(chart.contains(long), "the chart holds the whole name")
        // The bars start after the label column, which is wide enough for the label in monospace.
        let label = "cpu \(long) [small-items-bench.json]"
        let bar = try #require(chart.range(of: "<rect x=\""))
        let x = Int(chart[bar.upperBound...].prefix(while: \.isNumber))!
        #expect(Double(x) >= 10 + 0.6 * 12 * Double(label.count), "bars at \(x) for a label of \(label.count) characters")
    }
}
