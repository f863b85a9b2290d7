import Foundation
import Testing
@testable import SaegeoCore

/// `contrast --ids --distinct-cosine C`: near-duplicates collapsed into the best-ranked member of
/// their group, marked in the table's duplicate_of column (issue 22, item 4).
@Suite(.serialized)
struct DistinctFeaturesTests {
    @Test("--distinct-cosine keeps --top distinct features for --ids and marks what each collapsed one duplicates")
    func collapse() throws {
        let j = try ContrastCommandTests.job("distinct")
        let cut = 0.3, top = 8
        let run = try ContrastCommandTests.contrast(j, ["-o", j.folder + "/out.jsonl", "--top", "\(top)", "--ids", j.folder + "/ids.txt",
                                                        "--distinct-cosine", "\(cut)"])
        #expect(run.status == 0, "\(run.stderr)")
        let rows = try String(contentsOfFile: j.folder + "/out.jsonl", encoding: .utf8).split(separator: "\n")
            .map { try JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any] }
        let ids = try String(contentsOfFile: j.folder + "/ids.txt", encoding: .utf8).split(separator: "\n")
            .filter { !$0.hasPrefix("#") }.map { Int($0)! }

        // The rule, in the test's own float64: walk the live features in rank order.
        let decoder = try SAECheckpoint.open(j.sae).decoder()
        func direction(_ f: Int) -> [Double] {
            var row = [Float](repeating: 0, count: decoder.dimension)
            row.withUnsafeMutableBufferPointer { decoder.copyFeature(f, into: $0.baseAddress!) }
            return row.map(Double.init)
        }
        func cosine(_ a: [Double], _ b: [Double]) -> Double {
            zip(a, b).map(*).reduce(0, +) / (zip(a, a).map(*).reduce(0, +).squareRoot() * zip(b, b).map(*).reduce(0, +).squareRoot())
        }
        var kept: [Int] = [], expected: [Int: Int] = [:]
        for row in rows where !(row["dead"] as! Bool) {
            if kept.count == top { break }
            let f = row["feature"] as! Int
            if let match = kept.first(where: { cosine(direction($0), direction(f)) > cut }) { expected[f] = match } else { kept.append(f) }
        }
        #expect(ids == kept)
        #expect(!expected.isEmpty, "the fixture has features closer than \(cut)")
        for row in rows {
            let f = row["feature"] as! Int
            #expect(row["duplicate_of"] as? Int == expected[f] ?? -1, "feature \(f)")
        }
        #expect(run.stderr.contains("kept \(top) distinct features for --ids, collapsing \(expected.count) near-duplicates"), "\(run.stderr)")

        // The csv carries the same column; without the option the table is as before.
        let csv = try ContrastCommandTests.contrast(j, ["-o", j.folder + "/out.csv", "--ids", j.folder + "/ids2.txt", "--distinct-cosine", "\(cut)"])
        #expect(csv.status == 0)
        let lines = try String(contentsOfFile: j.folder + "/out.csv", encoding: .utf8).split(separator: "\n")
        #expect(lines[0].hasSuffix(",dead,duplicate_of"))
        let plain = try ContrastCommandTests.contrast(j, ["-o", j.folder + "/plain.jsonl"])
        let plainText = try String(contentsOfFile: j.folder + "/plain.jsonl", encoding: .utf8)
        #expect(plain.status == 0 && !plainText.contains("duplicate_of"))

        for (bad, mention) in [(["--distinct-cosine", "0.5"], "no --ids"), (["--ids", j.folder + "/x.txt", "--distinct-cosine", "1"], "--distinct-cosine 1")] {
            let refused = try ContrastCommandTests.contrast(j, ["-o", j.folder + "/bad.jsonl"] + bad)
            #expect(refused.status != 0 && refused.stderr.hasPrefix("saegeo: error:") && refused.stderr.contains(mention), "\(refused.stderr)")
            #expect(!FileManager.default.fileExists(atPath: j.folder + "/bad.jsonl"))
        }
    }
}
