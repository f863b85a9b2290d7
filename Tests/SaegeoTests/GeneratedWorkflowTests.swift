import Foundation
import Testing
@testable import SaegeoCore

/// The README's workflow from step 3 on, run on `generate`d data as a new user would: contrast of
/// the labelled sets picks toxic ids, score and filter use them, neighbors gives the toxic
/// features' neighbourhoods, and the report links the two with no dead link.
struct GeneratedWorkflowTests {
    @Test("generate writes labelled sets, and README steps 3 to 6 run on its output into a report with no dead link")
    func readmeStepsOnGeneratedData() throws {
        let folder = TestFiles.path("generated-workflow")
        try? FileManager.default.removeItem(atPath: folder)
        let made = try CommandRunner.saegeo(["generate", folder, "--features", "700", "--dimension", "48", "--samples", "120"])
        #expect(made.status == 0, "\(made.stderr)")
        for name in ["labelled-toxic.safetensors", "labelled-ordinary.safetensors"] {
            #expect(FileManager.default.fileExists(atPath: folder + "/" + name), "\(name)")
        }
        func run(_ arguments: [String]) throws {
            let outcome = try CommandRunner.saegeo(arguments + ["--device", "cpu"], directory: folder)
            #expect(outcome.status == 0, "\(arguments.first ?? ""): \(outcome.stderr)")
        }
        try run(["contrast", "--sae", "sae", "--activations", "labelled-toxic.safetensors", "--offsets", "offsets",
                 "--baseline", "labelled-ordinary.safetensors", "--baseline-offsets", "offsets", "-o", "contrast.jsonl",
                 "--top", "8", "--ids", "ids.txt", "--distinct-cosine", "0.7"])
        // Contrast finds the planted toxic cluster: the toxic features and their near-duplicates,
        // which ExampleJob plants as its first features (they fire together, so t ranks them alike).
        let ids = try String(contentsOfFile: folder + "/ids.txt", encoding: .utf8).split(separator: "\n")
            .filter { !$0.hasPrefix("#") }.compactMap { Int($0) }
        let size = ExampleJob.Size(), cluster = size.toxic + size.toxic * size.neighboursPerToxic
        #expect(ids.count == 8 && ids.filter { $0 < cluster }.count >= 6, "contrast picked \(ids); the planted cluster is 0..<\(cluster)")
        try run(["score", "--sae", "sae", "--toxic", "ids.txt", "--activations", "activations.safetensors", "--offsets", "offsets",
                 "-o", "scores.jsonl", "--explain", "3", "--summary", "summary.json"])
        let filtered = try CommandRunner.saegeo(["filter", "--scores", "scores.jsonl", "--drop-fraction", "0.1", "--dataset", "dataset.jsonl",
                                                 "-o", "kept.jsonl", "--dropped", "dropped.txt"], directory: folder)
        #expect(filtered.status == 0, "\(filtered.stderr)")
        try run(["neighbors", "--sae", "sae", "--queries", "ids.txt", "-k", "16", "-o", "neighbors.safetensors"])
        let report = try CommandRunner.saegeo(["report", "--scores", "scores.jsonl", "--summary", "summary.json", "--dataset", "dataset.jsonl",
                                               "--neighbors", "neighbors.safetensors", "--toxic", "ids.txt", "-o", "report.html"], directory: folder)
        #expect(report.status == 0, "\(report.stderr)")
        // Every in-page link has its target.
        let html = try String(contentsOfFile: folder + "/report.html", encoding: .utf8)
        let links = Set(matches(of: ##"href="#([^"]+)""##, in: html))
        let targets = Set(matches(of: ##"id="([^"]+)""##, in: html))
        #expect(!links.isEmpty && links.isSubset(of: targets), "dead links: \(links.subtracting(targets).sorted())")
    }

    func matches(of pattern: String, in text: String) -> [String] {
        let regex = try! NSRegularExpression(pattern: pattern)
        return regex.matches(in: text, range: NSRange(text.startIndex..., in: text)).compactMap {
            Range($0.range(at: 1), in: text).map { String(text[$0]) }
        }
    }
}
