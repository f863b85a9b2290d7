import Foundation
import Testing
@testable import SaegeoCore

/// `--precision` through the command line: neighbours byte-identical between float32 and bfloat16
/// (one run, query subsets, several devices, shards merged), score and contrast within the issue's
/// limits, plan's choice in words, and a bad value refused in one line. The bfloat16 runs take the
/// native product where this CPU has it and the portable one elsewhere, so this runs on any CPU.
@Suite(.serialized)
struct PrecisionCommandTests {
    static let job = ExampleJob.inTestFolder("precision-job", features: 700, dimension: 40, samples: 60, tokens: 5, seed: 25)
    static let labelled = try! job.writeLabelledSets(samples: 50, to: TestFiles.path("precision-job"))

    static func neighbors(_ extra: [String], precision: String, name: String) throws -> Data {
        let out = TestFiles.path("precision-\(name)-\(precision).safetensors")
        let run = try CommandRunner.saegeo(["neighbors", "--sae", job.saePath, "-k", "7", "--precision", precision, "-o", out] + extra)
        #expect(run.status == 0, "\(run.stderr)")
        if precision == "bfloat16" {
            #expect(run.stderr.contains("bfloat16 first pass on cpu"), "\(run.stderr)")
        }
        return try Data(contentsOf: URL(fileURLWithPath: out))
    }

    @Test("neighbors: float32 and bfloat16 write the same bytes (all pairs, a query subset, cpu with opencl:0)")
    func neighborsIdentical() throws {
        let queries = try TestFiles.write((0..<700).filter { $0 % 7 == 3 }.map(String.init).joined(separator: "\n") + "\n",
                                          to: "precision-queries.txt")
        var cases: [(String, [String])] = [("all", ["--device", "cpu"]), ("subset", ["--device", "cpu", "--queries", queries]),
                                           ("tiny-budget", ["--device", "cpu", "--memory-budget", "900KiB"])]
        if TestBackends.standard.contains(where: { $0.id == "opencl:0" }) {
            cases.append(("mixed", ["--device", "cpu,opencl:0"]))
        }
        for (name, extra) in cases {
            let a = try Self.neighbors(extra, precision: "float32", name: name)
            let b = try Self.neighbors(extra, precision: "bfloat16", name: name)
            #expect(a == b, "\(name): the bfloat16 output differs")
        }
    }

    @Test("neighbors shards: bfloat16 shards merged equal the float32 single run")
    func shardsIdentical() throws {
        let single = try Self.neighbors(["--device", "cpu"], precision: "float32", name: "single")
        var shards: [String] = []
        for index in 0..<3 {
            let out = TestFiles.path("precision-shard-\(index).safetensors")
            try? FileManager.default.removeItem(atPath: out)
            let run = try CommandRunner.saegeo(["neighbors", "--sae", Self.job.saePath, "-k", "7", "--device", "cpu",
                                                "--precision", index == 1 ? "float32" : "bfloat16", "--shard", "\(index)/3", "-o", out])
            #expect(run.status == 0, "\(run.stderr)")
            shards.append(out)
        }
        let merged = TestFiles.path("precision-merged.safetensors")
        try? FileManager.default.removeItem(atPath: merged)
        let run = try CommandRunner.saegeo(["merge", "--sae", Self.job.saePath, "-o", merged] + shards)
        #expect(run.status == 0, "\(run.stderr)")
        #expect(try Data(contentsOf: URL(fileURLWithPath: merged)) == single)
    }

    @Test("score and contrast: bfloat16 gives float32's active counts and scores within 1e-6")
    func scoreAndContrast() throws {
        var scores: [String: SafetensorsContents] = [:]
        var contrasts: [String: String] = [:]
        for precision in ["float32", "bfloat16"] {
            let out = TestFiles.path("precision-score-\(precision).safetensors")
            let run = try CommandRunner.saegeo(["score", "--sae", Self.job.saePath, "--toxic", Self.job.toxicPath,
                                                "--activations", Self.job.activationsPath, "--offsets", "offsets",
                                                "--device", "cpu", "--precision", precision, "-o", out])
            #expect(run.status == 0, "\(run.stderr)")
            #expect(run.stderr.contains("features recomputed exactly") == (precision == "bfloat16"), "\(run.stderr)")
            scores[precision] = try SafetensorsContents(path: out)
            let contrast = TestFiles.path("precision-contrast-\(precision).jsonl")
            let c = try CommandRunner.saegeo(["contrast", "--sae", Self.job.saePath, "--activations", Self.labelled.toxic,
                                              "--baseline", Self.labelled.ordinary, "--offsets", "offsets", "--baseline-offsets", "offsets", "--device", "cpu",
                                              "--precision", precision, "-o", contrast])
            #expect(c.status == 0, "\(c.stderr)")
            contrasts[precision] = try String(contentsOfFile: contrast, encoding: .utf8)
        }
        let a = scores["float32"]!, b = scores["bfloat16"]!
        #expect(a.int64("active") == b.int64("active"))
        for (x, y) in zip(a.float32("scores"), b.float32("scores")) {
            #expect(abs(Double(x) - Double(y)) <= 1e-6 * max(abs(Double(x)), 1e-30), "\(x) vs \(y)")
        }
        // Contrast's rows: the same features in the same order, statistics within 1e-6. Welch's t
        // divides a difference of means, which cancels: its error is relative to the means' scale,
        // so a t below 1 is held to 1e-6 absolute (the float32 path's own error is of that size).
        let rows = { (text: String) in text.split(separator: "\n").map { try! JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any] } }
        let ra = rows(contrasts["float32"]!), rb = rows(contrasts["bfloat16"]!)
        #expect(ra.count == rb.count && !ra.isEmpty)
        for (x, y) in zip(ra, rb) {
            #expect(x["feature"] as? Int == y["feature"] as? Int)
            for (key, value) in x {
                guard let u = value as? Double, let v = y[key] as? Double else { continue }
                #expect(abs(u - v) <= 1e-6 * max(abs(u), key == "t" ? 1 : 1e-12), "\(key): \(u) vs \(v)")
            }
        }
    }

    @Test("plan says what each device computes in and why; a bad --precision is refused in one line")
    func planAndRefusal() throws {
        let plan = try CommandRunner.saegeo(["plan", "--sae", Self.job.saePath, "-k", "7", "--device", "cpu", "--precision", "bfloat16"])
        #expect(plan.status == 0, "\(plan.stderr)")
        #expect(plan.stdout.contains("cpu computes in bfloat16: as asked"), "\(plan.stdout)")
        let float32 = try CommandRunner.saegeo(["plan", "--sae", Self.job.saePath, "-k", "7", "--device", "cpu", "--precision", "float32"])
        #expect(float32.stdout.contains("cpu computes in float32: as asked"), "\(float32.stdout)")
        let bad = try CommandRunner.saegeo(["neighbors", "--sae", Self.job.saePath, "-k", "7", "--precision", "half",
                                            "-o", TestFiles.path("precision-bad.safetensors")])
        #expect(bad.status != 0)
        #expect(bad.stderr.contains("'auto', 'float32' or 'bfloat16'") && bad.stderr.split(separator: "\n").count == 1, "\(bad.stderr)")
        #expect(!FileManager.default.fileExists(atPath: TestFiles.path("precision-bad.safetensors")))
    }
}
