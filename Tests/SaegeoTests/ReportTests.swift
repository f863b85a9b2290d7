import Foundation
import Testing
@testable import SaegeoCore

/// `saegeo report`: the cut and counts exactly as `filter` makes them (streamed, whatever the ties),
/// the riskiest samples in the filter's order with their texts escaped, and one self-contained
/// HTML file (no script, nothing fetched), or nothing and one line of error.
@Suite(.serialized)
struct ReportTests {
    /// A small job made by the real commands: neighbours of the toxic features, scores with
    /// explanations and the summary, and a dataset whose riskiest line is hostile markup.
    struct Made {
        let folder: String, scores: String, summary: String, neighbours: String, dataset: String
        let job: ExampleJob
        let hostile: Int
    }

    static let hostileText = "<script>alert(1)</script> and <b>bold</b> & 'quotes'"

    static let made: Made = {
        let job = ExampleJob.inTestFolder("report-job", features: 512, dimension: 32, samples: 240, tokens: 3, seed: 5)
        let folder = TestFiles.path("report-job")
        let scores = folder + "/scores.jsonl", summary = folder + "/summary.json", neighbours = folder + "/neighbours.safetensors"
        let nb = try! CommandRunner.saegeo(["neighbors", "--sae", job.saePath, "--queries", job.toxicPath, "-k", "8",
                                            "-o", neighbours, "--device", "cpu"])
        precondition(nb.status == 0, nb.stderr)
        let score = try! CommandRunner.saegeo(["score", "--sae", job.saePath, "--toxic", job.toxicPath, "--activations", job.activationsPath,
                                               "--offsets", "offsets", "-o", scores, "--explain", "3", "--summary", summary, "--device", "cpu"])
        precondition(score.status == 0, score.stderr)
        // The riskiest sample's line becomes hostile, so that it is certainly shown.
        let ranked = filterOrder(try! SampleScores.read(scores).scores)
        var lines = try! String(contentsOfFile: job.datasetPath, encoding: .utf8).split(separator: "\n").map(String.init)
        let text = String(decoding: try! JSONEncoder().encode(["text": hostileText]), as: UTF8.self)
        lines[ranked[0]] = text
        let dataset = try! TestFiles.write(lines.joined(separator: "\n") + "\n", to: "report-job/hostile-dataset.jsonl")
        return Made(folder: folder, scores: scores, summary: summary, neighbours: neighbours, dataset: dataset, job: job, hostile: ranked[0])
    }()

    /// Samples in the order the geometry filter drops them.
    static func filterOrder(_ scores: [Float]) -> [Int] {
        scores.indices.sorted { scores[$0] != scores[$1] ? scores[$0] > scores[$1] : $0 < $1 }
    }

    static func attribute(_ name: String, in html: String) -> [String] {
        html.matches(of: try! Regex("\(name)=\"([^\"]*)\"")).map { String($0.output[1].substring ?? "") }
    }

    @Test("the streamed cut and histogram equal the filter's drop, ties included, for every fraction")
    func exactCut() throws {
        // Many ties (two decimals), zeros of both signs and negative scores, in shuffled sample order.
        var rng = SeededGenerator(seed: 3)
        let scores: [Float] = (0..<3000).map { i in
            i % 97 == 0 ? (i % 2 == 0 ? 0 : -0.0) : Float((Double(rng.next() % 200) - 40) / 100)
        }
        let order = Array(scores.indices).shuffled(using: &rng)
        let csv = try TestFiles.write("sample,score,active\n" + order.map { "\($0),\(scores[$0]),1" }.joined(separator: "\n") + "\n", to: "cut.csv")
        for fraction in [0.0, 0.001, 0.05, 0.1, 0.3333, 0.5, 0.99, 1.0] {
            let (overview, riskiest) = try ScoreDistribution.read(csv, dropFraction: fraction, top: 25, bins: 37)
            let dropped = try SampleFilter.dropped(SampleScores(scores: scores), fraction: fraction, strategy: .geometry, seed: 0)
            #expect(overview.dropped == dropped.count && overview.kept == scores.count - dropped.count, "\(fraction)")
            #expect(overview.cutScore == dropped.map { scores[$0] }.min(), "\(fraction)")
            if let cut = overview.cutScore {
                #expect(overview.tiesAtCut == scores.filter { $0 == cut }.count)
                #expect(overview.tiesDropped == dropped.filter { scores[$0] == cut }.count)
            }
            var bins = [Int](repeating: 0, count: overview.histogram.binCount)
            for sample in dropped { bins[overview.histogram.bin(of: scores[sample])] += 1 }
            #expect(overview.histogram.dropped == bins, "\(fraction)")
            #expect(overview.histogram.counts.reduce(0, +) == scores.count)
            #expect(riskiest.map(\.sample) == Array(Self.filterOrder(scores).prefix(25)))
        }
    }

    @Test("the report of a real job: bars, filter's counts, riskiest rows in order, texts escaped, nothing external")
    func reportOfARealJob() throws {
        let m = Self.made
        let html = TestFiles.path("report.html"), fraction = "0.1"
        let run = try CommandRunner.saegeo(["report", "--scores", m.scores, "--summary", m.summary, "--neighbors", m.neighbours,
                                            "--dataset", m.dataset, "--sae", m.job.saePath, "--toxic", m.job.toxicPath,
                                            "--drop-fraction", fraction, "--top", "20", "-o", html])
        #expect(run.status == 0, "\(run.stderr)")
        let page = try String(contentsOfFile: html, encoding: .utf8)

        // The histogram: one bar per bin.
        #expect(Self.attribute("data-bins", in: page) == ["60"])
        #expect(page.components(separatedBy: "<rect class=\"bar\"").count - 1 == 60)
        // The cut: the counts filter reports for the same fraction.
        let dropped = TestFiles.path("report-dropped.txt")
        let filter = try CommandRunner.saegeo(["filter", "--scores", m.scores, "--drop-fraction", fraction, "--dropped", dropped])
        #expect(filter.status == 0, "\(filter.stderr)")
        let droppedIds = try String(contentsOfFile: dropped, encoding: .utf8).split(separator: "\n").compactMap { Int($0) }
        #expect(Self.attribute("data-dropped", in: page) == ["\(droppedIds.count)"])
        #expect(Self.attribute("data-kept", in: page) == ["\(240 - droppedIds.count)"])
        // The riskiest rows, in the filter's order; those within the drop are among its dropped ids.
        let order = Self.filterOrder(try SampleScores.read(m.scores).scores)
        let rows = Self.attribute("data-sample", in: page).compactMap { Int($0) }
        #expect(rows == Array(order.prefix(20)))
        #expect(Set(rows.prefix(droppedIds.count)).isSubset(of: Set(droppedIds)))
        #expect(page.components(separatedBy: "<tr class=\"sample\"").count - 1 == 20)
        // Explanations, the null's z and the toxic features' neighbours are there.
        #expect(page.contains("nearest toxic") && page.contains("z = "))
        #expect(page.components(separatedBy: "<tr class=\"toxic\"").count - 1 == m.job.toxic.count)
        // The hostile text shows as text; the page has no script and references nothing outside.
        #expect(page.contains("&lt;script&gt;alert(1)&lt;/script&gt; and &lt;b&gt;bold&lt;/b&gt; &amp; &#39;quotes&#39;"))
        #expect(page.range(of: "<script", options: .caseInsensitive) == nil)
        #expect(!page.contains("<b>bold"))
        #expect(page.range(of: "http://", options: .caseInsensitive) == nil && page.range(of: "https://", options: .caseInsensitive) == nil)
        #expect(!page.contains(" src=") && !page.contains("@import") && !page.contains("url("))
        // The provenance names the inputs and the version.
        #expect(page.contains(m.job.saePath) && page.contains("--drop-fraction"))
    }

    @Test("the .csv and .safetensors scores give the same cut and rows as the .jsonl")
    func everyScoreFormat() throws {
        let m = Self.made
        var pages: [String] = []
        for ext in ["jsonl", "csv", "safetensors"] {
            let scores = ext == "jsonl" ? m.scores : m.folder + "/scores-plain.\(ext)"
            if ext != "jsonl" {
                let score = try CommandRunner.saegeo(["score", "--sae", m.job.saePath, "--toxic", m.job.toxicPath, "--activations", m.job.activationsPath,
                                                      "--offsets", "offsets", "-o", scores, "--device", "cpu", "--null-sets", "0"])
                #expect(score.status == 0, "\(score.stderr)")
            }
            let html = TestFiles.path("report-\(ext).html")
            let run = try CommandRunner.saegeo(["report", "--scores", scores, "--top", "15", "-o", html])
            #expect(run.status == 0, "\(run.stderr)")
            pages.append(try String(contentsOfFile: html, encoding: .utf8))
        }
        for name in ["data-kept", "data-dropped", "data-sample", "data-cut"] {
            let values = pages.map { Self.attribute(name, in: $0) }
            #expect(values.allSatisfy { $0 == values[0] && !$0.isEmpty }, "\(name): \(values)")
        }
    }

    @Test("a contrast ranking is shown by t; its cells are escaped")
    func contrast() throws {
        // Ties to the lower id; dead features last (a dead one's t may be nan; a live one's may not:
        // HostileInputTests.reportInputs).
        let file = try TestFiles.write("feature,t,label,dead\n5,1.5,a,0\n9,7.25,<i>x</i>,0\n11,9,e,1\n2,nan,c,1\n7,7.25,d,0\n", to: "contrast.csv")
        let html = TestFiles.path("report-contrast.html")
        let run = try CommandRunner.saegeo(["report", "--contrast", file, "-o", html])
        #expect(run.status == 0, "\(run.stderr)")
        let page = try String(contentsOfFile: html, encoding: .utf8)
        let features = page.matches(of: #/<tr class="contrast-row"><td>(\d+)</#).map { Int($0.output.1)! }
        #expect(features == [7, 9, 5, 2, 11])
        #expect(page.contains("&lt;i&gt;x&lt;/i&gt;") && !page.contains("<i>x"))
        // contrast's .jsonl writes an infinite t as the text "inf".
        let jsonl = try TestFiles.write("{\"feature\": 4, \"t\": 2.5}\n{\"feature\": 3, \"t\": \"inf\"}\n", to: "contrast.jsonl")
        let second = try CommandRunner.saegeo(["report", "--contrast", jsonl, "-o", html])
        #expect(second.status == 0, "\(second.stderr)")
        let ranked = try String(contentsOfFile: html, encoding: .utf8).matches(of: #/<tr class="contrast-row"><td>(\d+)</#).map { Int($0.output.1)! }
        #expect(ranked == [3, 4])
    }

    @Test("bad input: one line, exit 1, no report; an input as -o is refused")
    func badInput() throws {
        let m = Self.made
        let html = TestFiles.path("refused.html")
        let short = try TestFiles.write("{\"text\": \"only one line\"}\n", to: "short-dataset.jsonl")
        let broken = try TestFiles.write("{\"sample\": 0, \"score\": 0.5}\n{\"sample\": 0, \"score\": 0.1}\n", to: "twice.jsonl")
        let cases: [([String], String)] = [
            (["--scores", m.scores, "--dataset", short], "lines"),
            (["--scores", broken], "appears twice"),
            (["--scores", m.scores, "--drop-fraction", "1.5"], "--drop-fraction"),
            (["--dataset", m.dataset], "--scores"),
            ([], "nothing to report"),
            (["--summary", m.scores], "not valid JSON"),
            (["--scores", m.scores, "--summary", m.summary, "--neighbors", m.scores], "not safetensors"),
        ]
        for (arguments, words) in cases {
            let run = try CommandRunner.saegeo(["report"] + arguments + ["-o", html])
            #expect(run.status != 0, "\(arguments)")
            #expect(run.stderr.contains(words) && run.stderr.split(separator: "\n").count == 1, "\(arguments): \(run.stderr)")
            #expect(!FileManager.default.fileExists(atPath: html), "\(arguments)")
        }
        let before = try Data(contentsOf: URL(fileURLWithPath: m.summary))
        let overwrite = try CommandRunner.saegeo(["report", "--scores", m.scores, "--summary", m.summary, "-o", m.summary])
        #expect(overwrite.status != 0 && overwrite.stderr.contains("never overwrites an input"), "\(overwrite.stderr)")
        #expect(try Data(contentsOf: URL(fileURLWithPath: m.summary)) == before)
    }

    @Test("SOURCE_DATE_EPOCH fixes the report's time, so the same inputs give the same bytes; a bad one is refused")
    func reproducible() throws {
        let m = Self.made
        let a = TestFiles.path("epoch-a.html"), b = TestFiles.path("epoch-b.html")
        let arguments = ["report", "--scores", m.scores, "--summary", m.summary, "--neighbors", m.neighbours]
        for (out, pause) in [(a, false), (b, true)] {
            if pause { sleep(1) }   // a report stamped with the clock would now differ
            let run = try CommandRunner.saegeo(arguments + ["-o", out], environment: ["SOURCE_DATE_EPOCH": "1780000000"])
            #expect(run.status == 0, "\(run.stderr)")
        }
        let html = try String(contentsOfFile: a, encoding: .utf8)
        #expect(html == (try String(contentsOfFile: b, encoding: .utf8)))
        #expect(html.contains("2026-05-28T20:26:40Z"), "the report names the fixed time")
        for bad in ["-5", "1e9", "soon", "99999999999999"] {
            let out = TestFiles.path("epoch-bad.html")
            let run = try CommandRunner.saegeo(arguments + ["-o", out], environment: ["SOURCE_DATE_EPOCH": bad])
            #expect(run.status == 1 && run.stderr.contains("SOURCE_DATE_EPOCH"), "\(bad): \(run.stderr)")
            #expect(!FileManager.default.fileExists(atPath: out))
        }
    }
}
