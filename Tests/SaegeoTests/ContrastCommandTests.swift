import Foundation
import Testing
@testable import SaegeoCore

/// `saegeo contrast` end to end: the three output formats agree, --ids and --summary, shards
/// merged byte-identical to a single run (unpaired and paired), and bad input refused with one
/// line, a non-zero exit and no output.
@Suite(.serialized)
struct ContrastCommandTests {
    static func job(_ name: String, paired: Bool = false) throws -> (folder: String, sae: String, a: String, b: String) {
        let folder = TestFiles.path("contrast-cli-\(name)")
        let (sae, _) = try ContrastTests.sae("jumprelu", folder: folder)
        let starts = Array(stride(from: 0, through: 120, by: 3))
        _ = try ContrastTests.activations(folder + "/a.safetensors", starts: starts, seed: 3, setA: true)
        _ = try ContrastTests.activations(folder + "/b.safetensors", starts: paired ? starts : Array(stride(from: 0, through: 100, by: 4)),
                                          seed: 4, setA: paired)
        return (folder, sae, folder + "/a.safetensors", folder + "/b.safetensors")
    }

    static func contrast(_ j: (folder: String, sae: String, a: String, b: String), _ extra: [String]) throws -> CommandRunner.Outcome {
        try CommandRunner.saegeo(["contrast", "--sae", j.sae, "--activations", j.a, "--offsets", "offsets", "--baseline", j.b,
                                  "--baseline-offsets", "offsets", "--device", "cpu", "--memory-budget", "1MiB"] + extra)
    }

    @Test("jsonl, csv and safetensors hold the same ranking; --ids and --summary")
    func formats() throws {
        let j = try Self.job("formats")
        let toxic = try TestFiles.write("3\n17\n40\n", to: "contrast-toxic.txt")
        let run = try Self.contrast(j, ["-o", j.folder + "/out.jsonl", "--top", "5", "--ids", j.folder + "/ids.txt",
                                        "--toxic", toxic, "--summary", j.folder + "/summary.json", "--null-sets", "30"])
        #expect(run.status == 0, "\(run.stderr)")
        for ext in ["csv", "safetensors"] {
            let other = try Self.contrast(j, ["-o", j.folder + "/out.\(ext)"])
            #expect(other.status == 0, "\(other.stderr)")
        }
        let lines = try String(contentsOfFile: j.folder + "/out.jsonl", encoding: .utf8).split(separator: "\n")
        let jsonl = lines.map { try! JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any] }
        #expect(jsonl.count == ContrastTests.n)
        let features = jsonl.map { $0["feature"] as! Int }
        let csv = try String(contentsOfFile: j.folder + "/out.csv", encoding: .utf8).split(separator: "\n").dropFirst()
        #expect(csv.map { Int($0.split(separator: ",")[1])! } == features)
        let tensors = try SafetensorsFile(path: j.folder + "/out.safetensors")
        let stored = try OutputTensor.all(in: tensors)
        #expect(stored.first { $0.name == "feature" }!.values(Int64.self).map(Int.init) == features)
        // (The csv's text, not JSONSerialization, whose number parsing is off by an ulp at times.)
        #expect(stored.first { $0.name == "t" }!.values(Double.self) == csv.map { Double($0.split(separator: ",")[2])! })
        let ids = try String(contentsOfFile: j.folder + "/ids.txt", encoding: .utf8).split(separator: "\n").filter { !$0.hasPrefix("#") }
        #expect(ids.map { Int($0)! } == Array(features.prefix(5)))
        let summary = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: j.folder + "/summary.json"))) as! [String: Any]
        let toxicFigures = summary["toxic"] as! [String: Any]
        #expect((toxicFigures["a_over_b"] as! [String: Any])["features"] as! [Int] == Array(features.prefix(5)))
        #expect(toxicFigures["null_sets"] as? Int == 30)
        #expect(run.stderr.contains("top 5 features of A over B"))
    }

    @Test("shards merged are byte-identical to a single run", arguments: [false, true])
    func shards(_ paired: Bool) throws {
        let j = try Self.job("shards-\(paired)", paired: paired)
        let pairing = paired ? ["--paired"] : []
        let single = try Self.contrast(j, ["-o", j.folder + "/single.jsonl"] + pairing)
        #expect(single.status == 0, "\(single.stderr)")
        var parts: [String] = []
        for i in 0..<3 {
            let part = j.folder + "/part\(i).safetensors"
            let run = try Self.contrast(j, ["-o", part, "--shard", "\(i)/3"] + pairing)
            #expect(run.status == 0, "\(run.stderr)")
            parts.append(part)
        }
        let merged = try CommandRunner.saegeo(["merge", "-o", j.folder + "/merged.jsonl"] + parts.reversed())
        #expect(merged.status == 0, "\(merged.stderr)")
        #expect(try Data(contentsOf: URL(fileURLWithPath: j.folder + "/merged.jsonl")) == Data(contentsOf: URL(fileURLWithPath: j.folder + "/single.jsonl")))
        let missing = try CommandRunner.saegeo(["merge", "-o", j.folder + "/missing.jsonl"] + parts.prefix(2))
        #expect(missing.status == 1 && missing.stderr.contains("missing") && !FileManager.default.fileExists(atPath: j.folder + "/missing.jsonl"))
    }

    @Test("bad input is refused with one line and no output")
    func refused() throws {
        let j = try Self.job("bad")
        // B of another d_model; paired sets of different lengths; --top past d_sae; missing offsets.
        var rng = SeededGenerator(seed: 9)
        let wide = (0..<(12 * 7)).map { _ in Float(rng.gaussian()) }
        try CheckpointBytes.write(CheckpointBytes.safetensors([.init(name: "activations", dtype: "F32", shape: [12, 7],
                                                                     bytes: CheckpointBytes.encode(wide, as: "F32"))]), to: j.folder + "/wide.safetensors")
        let cases: [([String], String)] = [
            (["--sae", j.sae, "--activations", j.a, "--offsets", "offsets", "--baseline", j.folder + "/wide.safetensors"], "d_model 7"),
            (["--sae", j.sae, "--activations", j.a, "--offsets", "offsets", "--baseline", j.b, "--baseline-offsets", "offsets", "--paired"], "--paired needs the same samples"),
            (["--sae", j.sae, "--activations", j.a, "--offsets", "offsets", "--baseline", j.b, "--top", "54"], "--top must be between 1 and"),
            (["--sae", j.sae, "--activations", j.a, "--offsets", "no_such", "--baseline", j.b], "no_such"),
        ]
        for (i, (arguments, expected)) in cases.enumerated() {
            let out = j.folder + "/bad\(i).jsonl"
            let run = try CommandRunner.saegeo(["contrast", "--device", "cpu", "-o", out] + arguments)
            #expect(run.status != 0, "\(arguments): exit 0")
            #expect(run.stderr.split(separator: "\n").count == 1 && run.stderr.contains(expected), "\(arguments): \(run.stderr)")
            #expect(!FileManager.default.fileExists(atPath: out))
        }
    }
}
