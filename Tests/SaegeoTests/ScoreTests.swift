import Foundation
import Testing
@testable import SaegeoCore

/// Sample scores against a plain float64 reference of the Definitions, for every SAE format and
/// architecture, F32 and BF16, pooled rows and per-token samples.
struct ScoreTests {
    static let dModel = 19, dSAE = 53
    static let toxic = [3, 17, 40]

    struct SAE {
        var wEnc: [Float]      // [dModel, dSAE]
        var wDec: [Float]      // [dSAE, dModel]
        var bEnc: [Float]
        var bDec: [Float]
        var threshold: [Float]
    }

    /// Values rounded to what `dtype` can hold, so the reference sees what the files hold.
    static func make(dtype: String, seed: UInt64) -> SAE {
        var rng = SeededGenerator(seed: seed)
        func values(_ n: Int, _ scale: Double, _ shift: Double = 0) -> [Float] {
            CheckpointBytes.decode(CheckpointBytes.encode((0..<n).map { _ in Float(rng.gaussian() * scale + shift) }, as: dtype), as: dtype)
        }
        var wDec = values(dSAE * dModel, 1)
        for i in 0..<dModel { wDec[9 * dModel + i] = 0 }   // a dead feature
        return SAE(wEnc: values(dModel * dSAE, 0.4), wDec: wDec, bEnc: values(dSAE, 0.3, -0.2),
                   bDec: values(dModel, 0.2), threshold: values(dSAE, 0.1, 0.3).map { abs($0) })
    }

    enum Layout: String, CaseIterable { case saelensJump, saelensReLU, saelensTopK, gemmaScope, llamaScope }

    /// Writes the SAE in the layout's format; returns the path and how it encodes.
    static func write(_ sae: SAE, layout: Layout, dtype: String, folder: String) throws -> (String, subtract: Bool, scale: Double, scalarThreshold: Float?) {
        func bytes(_ v: [Float]) -> [UInt8] { CheckpointBytes.encode(v, as: dtype) }
        switch layout {
        case .saelensJump, .saelensReLU, .saelensTopK:
            try CheckpointBytes.write(CheckpointBytes.safetensors([
                .init(name: "W_enc", dtype: dtype, shape: [dModel, dSAE], bytes: bytes(sae.wEnc)),
                .init(name: "W_dec", dtype: dtype, shape: [dSAE, dModel], bytes: bytes(sae.wDec)),
                .init(name: "b_enc", dtype: dtype, shape: [dSAE], bytes: bytes(sae.bEnc)),
                .init(name: "b_dec", dtype: dtype, shape: [dModel], bytes: bytes(sae.bDec)),
                .init(name: "threshold", dtype: dtype, shape: [dSAE], bytes: bytes(sae.threshold)),
            ]), to: folder + "/sae_weights.safetensors")
            let arch = layout == .saelensJump ? "\"jumprelu\"" : layout == .saelensReLU ? "\"standard\"" : "\"topk\", \"k\": 5"
            try CheckpointBytes.write(Array("{\"architecture\": \(arch), \"d_in\": \(dModel), \"d_sae\": \(dSAE), \"apply_b_dec_to_input\": true}".utf8),
                                      to: folder + "/cfg.json")
            return (folder, true, 1, nil)
        case .gemmaScope:
            let descr = "<f4"
            let f32 = { (v: [Float]) in CheckpointBytes.encode(v, as: "F32") }
            try CheckpointBytes.write(CheckpointBytes.zip([
                ("W_enc.npy", CheckpointBytes.npy(descr: descr, shape: [dModel, dSAE], payload: f32(sae.wEnc))),
                ("W_dec.npy", CheckpointBytes.npy(descr: descr, shape: [dSAE, dModel], payload: f32(sae.wDec))),
                ("b_enc.npy", CheckpointBytes.npy(descr: descr, shape: [dSAE], payload: f32(sae.bEnc))),
                ("b_dec.npy", CheckpointBytes.npy(descr: descr, shape: [dModel], payload: f32(sae.bDec))),
                ("threshold.npy", CheckpointBytes.npy(descr: descr, shape: [dSAE], payload: f32(sae.threshold))),
            ], deflate: true), to: folder + "/params.npz")
            return (folder + "/params.npz", false, 1, nil)
        case .llamaScope:
            try CheckpointBytes.write(CheckpointBytes.safetensors([
                .init(name: "encoder.weight", dtype: dtype, shape: [dSAE, dModel],
                      bytes: bytes(CheckpointBytes.transpose(sae.wEnc, rows: dModel, columns: dSAE))),
                .init(name: "encoder.bias", dtype: dtype, shape: [dSAE], bytes: bytes(sae.bEnc)),
                .init(name: "decoder.weight", dtype: dtype, shape: [dModel, dSAE],
                      bytes: bytes(CheckpointBytes.transpose(sae.wDec, rows: dSAE, columns: dModel))),
                .init(name: "decoder.bias", dtype: dtype, shape: [dModel], bytes: bytes(sae.bDec)),
            ]), to: folder + "/checkpoints/final.safetensors")
            try CheckpointBytes.write(Array("{\"d_model\": \(dModel), \"d_sae\": \(dSAE), \"jump_relu_threshold\": 0.25, \"dataset_average_activation_norm\": {\"in\": 7.5}}".utf8),
                                      to: folder + "/hyperparams.json")
            return (folder, false, Double(dModel).squareRoot() / 7.5, 0.25)
        }
    }

    /// The Definitions in float64.
    static func reference(_ sae: SAE, layout: Layout, x: [Float], starts: [Int], subtract: Bool, scale: Double,
                          scalarThreshold: Float?) -> (scores: [Double], active: [Int], contributions: [[Int: Double]], p: [Double]) {
        func cosine(_ f: Int, _ g: Int) -> Double {
            var dot = 0.0, nf = 0.0, ng = 0.0
            for i in 0..<dModel {
                let a = Double(sae.wDec[f * dModel + i]), b = Double(sae.wDec[g * dModel + i])
                dot += a * b; nf += a * a; ng += b * b
            }
            return nf == 0 || ng == 0 ? -.infinity : dot / (nf.squareRoot() * ng.squareRoot())
        }
        let p: [Double] = (0..<dSAE).map { f in
            if toxic.contains(f) { return 1 }
            let best = toxic.map { cosine(f, $0) }.max()!
            return best == -.infinity ? 0 : best
        }
        var scores: [Double] = [], active: [Int] = [], contributions: [[Int: Double]] = []
        for s in 0..<(starts.count - 1) {
            var num = 0.0, den = 0.0
            var seen = Set<Int>()
            var sums: [Int: Double] = [:]
            for row in starts[s]..<starts[s + 1] {
                let xr = (0..<dModel).map { (Double(x[row * dModel + $0]) - (subtract ? Double(sae.bDec[$0]) : 0)) * scale }
                var pre = (0..<dSAE).map { f in (0..<dModel).reduce(Double(sae.bEnc[f])) { $0 + xr[$1] * Double(sae.wEnc[$1 * dSAE + f]) } }
                switch layout {
                case .saelensReLU: pre = pre.map { max($0, 0) }
                case .saelensTopK:
                    let keep = Set(pre.indices.sorted { pre[$0] != pre[$1] ? pre[$0] > pre[$1] : $0 < $1 }.prefix(5))
                    pre = pre.indices.map { keep.contains($0) ? max(pre[$0], 0) : 0 }
                default:
                    pre = pre.indices.map { pre[$0] > Double(scalarThreshold ?? sae.threshold[$0]) ? pre[$0] : 0 }
                }
                for f in 0..<dSAE where pre[f] > 0 { num += pre[f] * p[f]; den += pre[f]; seen.insert(f); sums[f, default: 0] += pre[f] }
            }
            scores.append(den > 0 ? num / den : 0)
            active.append(seen.count)
            contributions.append(sums)
        }
        return (scores, active, contributions, p)
    }

    struct Case: CustomStringConvertible, Sendable {
        let layout: String
        let dtype: String
        let perToken: Bool
        var description: String { "\(layout) \(dtype) \(perToken ? "per-token" : "pooled")" }
    }

    static let cases: [Case] = Layout.allCases.flatMap { layout in
        (layout == .gemmaScope ? ["F32"] : ["F32", "BF16"]).flatMap { dtype in
            [false, true].map { Case(layout: layout.rawValue, dtype: dtype, perToken: $0) }
        }
    }

    @Test("scores match the float64 reference", arguments: cases)
    func matchesReference(_ c: Case) throws {
        let layout = Layout(rawValue: c.layout)!
        let sae = Self.make(dtype: c.dtype, seed: 99)
        let folder = TestFiles.path("score-\(c.layout)-\(c.dtype)-\(c.perToken)")
        let (path, subtract, scale, scalar) = try Self.write(sae, layout: layout, dtype: c.dtype, folder: folder)
        // 37 token rows; per-token samples of uneven length, one of them empty.
        var rng = SeededGenerator(seed: 5)
        let rows = 37
        let x = CheckpointBytes.decode(CheckpointBytes.encode((0..<(rows * Self.dModel)).map { _ in Float(rng.gaussian()) }, as: c.dtype), as: c.dtype)
        let starts = c.perToken ? [0, 5, 5, 12, 13, 30, 37] : Array(0...rows)
        let activationsPath = folder + "/acts.safetensors"
        var tensors: [CheckpointBytes.Tensor] = [.init(name: "activations", dtype: c.dtype, shape: [rows, Self.dModel],
                                                       bytes: CheckpointBytes.encode(x, as: c.dtype))]
        if c.perToken {
            tensors.append(.init(name: "offsets", dtype: "I64", shape: [starts.count],
                                 bytes: starts.flatMap { withUnsafeBytes(of: Int64($0).littleEndian, Array.init) }))
        }
        try CheckpointBytes.write(CheckpointBytes.safetensors(tensors), to: activationsPath)

        let checkpoint = try SAECheckpoint.open(path)
        let encoder = try SAEEncoder(checkpoint: checkpoint)
        let proximity = try ToxicProximity.compute(decoder: try checkpoint.decoder(), toxic: Self.toxic, engines: [CPUEngine()])
        let data = try ActivationsFile.open(activationsPath, tensor: nil, offsets: c.perToken ? "offsets" : nil)
        let expected = Self.reference(sae, layout: layout, x: x, starts: starts, subtract: subtract, scale: scale, scalarThreshold: scalar)
        var cpuScores: [Float] = []
        for device in BackendCase.deviceLists {
            var scorer = try DatasetScorer(encoder: encoder, proximity: proximity.proximity, activations: data)
            scorer.rowChunk = 8      // several chunks
            scorer.featureTile = 16  // several feature tiles
            scorer.explain = 3       // the per-(sample, feature) sums too
            let result = try scorer.run(on: try BackendCase.engines(device))
            #expect(result.active.map(Int.init) == expected.active, "\(c) \(device)")
            for (s, (got, want)) in zip(result.scores, expected.scores).enumerated() {
                #expect(abs(Double(got) - want) <= 1e-4 * max(abs(want), 1e-3), "\(c) \(device) sample \(s): \(got) vs \(want)")
                let wanted = expected.contributions[s].sorted {
                    ($0.value * expected.p[$0.key], -$0.key) > ($1.value * expected.p[$1.key], -$1.key)
                }.prefix(3)
                let explained = result.explanations[s]
                #expect(explained.map(\.feature) == wanted.map(\.key), "\(c) \(device) sample \(s): explained features")
                for (entry, (_, activation)) in zip(explained, wanted) {
                    #expect(abs(entry.activation - activation) <= 1e-4 * max(1, activation), "\(c) \(device) sample \(s)")
                }
            }
            // Across devices: within 1e-5 relative.
            if device == "cpu" { cpuScores = result.scores } else {
                let (relative, floor): (Float, Float) = device.hasPrefix("cpu-bfloat16") ? (1e-6, 1) : (1e-5, 1e-2)  // bfloat16: as float32
                for (a, b) in zip(result.scores, cpuScores) { #expect(abs(a - b) <= relative * max(abs(b), floor), "\(c) \(device): \(a) vs cpu \(b)") }
            }
        }
        #expect(expected.active.contains { $0 > 0 }, "the test data activates nothing")
        if c.perToken { #expect(cpuScores[1] == 0 && expected.active[1] == 0, "the empty sample") }
    }

    @Test("score writes jsonl, csv and safetensors that filter reads back")
    func commandLine() throws {
        let sae = Self.make(dtype: "F32", seed: 4)
        let folder = TestFiles.path("score-cli")
        let (path, _, _, _) = try Self.write(sae, layout: .saelensJump, dtype: "F32", folder: folder)
        var rng = SeededGenerator(seed: 8)
        let x = (0..<(23 * Self.dModel)).map { _ in Float(rng.gaussian()) }
        let acts = folder + "/acts.npy"
        try CheckpointBytes.write(CheckpointBytes.npy(descr: "<f4", shape: [23, Self.dModel], payload: CheckpointBytes.encode(x, as: "F32")), to: acts)
        let toxic = try TestFiles.write(Self.toxic.map(String.init).joined(separator: "\n"), to: "score-toxic.txt")
        var read: [SampleScores] = []
        for ext in ["jsonl", "csv", "safetensors"] {
            let out = folder + "/scores.\(ext)"
            let run = try CommandRunner.saegeo(["score", "--sae", path, "--toxic", toxic, "--activations", acts, "-o", out, "--device", "cpu"])
            #expect(run.status == 0, "\(run.stderr)")
            read.append(try SampleScores.read(out))
        }
        #expect(read[0].count == 23 && read[0] == read[1] && read[1] == read[2])

        // --explain: the M features of largest summed a p, with their activation, proximity and
        // nearest toxic feature; --summary: the dataset-level figures.
        let out = folder + "/explained.jsonl", summary = folder + "/summary.json"
        let run = try CommandRunner.saegeo(["score", "--sae", path, "--toxic", toxic, "--activations", acts, "-o", out,
                                            "--explain", "3", "--summary", summary, "--null-sets", "5"])
        #expect(run.status == 0 && run.stderr.contains("z ="), "\(run.stderr)")
        let expected = Self.reference(sae, layout: .saelensJump, x: x, starts: Array(0...23), subtract: true, scale: 1, scalarThreshold: nil)
        let lines = try String(contentsOfFile: out, encoding: .utf8).split(separator: "\n")
        #expect(lines.count == 23)
        for (s, line) in lines.enumerated() {
            let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as! [String: Any]
            let explain = object["explain"] as! [[String: Any]]
            let want = expected.contributions[s].sorted { ($0.value * expected.p[$0.key], -$0.key) > ($1.value * expected.p[$1.key], -$1.key) }.prefix(3)
            #expect(explain.map { $0["feature"] as! Int } == want.map(\.key), "sample \(s)")
            for (entry, (feature, activation)) in zip(explain, want) {
                #expect(abs((entry["activation"] as! Double) - activation) <= 1e-4 * max(1, activation))
                #expect(abs((entry["proximity"] as! Double) - expected.p[feature]) <= 1e-5)
                #expect(entry["nearest_toxic"] is Int)
            }
        }
        let figures = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: summary))) as! [String: Any]
        let meanScore = expected.scores.reduce(0, +) / 23
        #expect(abs((figures["mean_score"] as! Double) - meanScore) <= 1e-4 * max(1e-3, abs(meanScore)))
        #expect(figures["null_sets"] as? Int == 5 && figures["z_score"] is Double)
        let bad = try CommandRunner.saegeo(["score", "--sae", path, "--toxic", toxic, "--activations", acts, "-o", folder + "/x.txt"])
        #expect(bad.status != 0 && bad.stderr.contains(".jsonl"))
    }

    @Test("bad score inputs: one line, exit 1, no output")
    func badInputs() throws {
        let sae = Self.make(dtype: "F32", seed: 3)
        let folder = TestFiles.path("score-bad")
        let (path, _, _, _) = try Self.write(sae, layout: .saelensJump, dtype: "F32", folder: folder)
        let (topkPath, _, _, _) = try Self.write(sae, layout: .saelensTopK, dtype: "F32", folder: folder + "-topk")
        try CheckpointBytes.write(Array("{\"architecture\": \"topk\", \"d_in\": \(Self.dModel), \"d_sae\": \(Self.dSAE)}".utf8),
                                  to: folder + "-topk/cfg.json")   // no k
        let toxic = try TestFiles.write("3\n17\n", to: "bad-toxic.txt")
        let wide = folder + "/wide.npy"
        try CheckpointBytes.write(CheckpointBytes.npy(descr: "<f4", shape: [4, Self.dModel + 1],
                                                      payload: CheckpointBytes.encode([Float](repeating: 1, count: 4 * (Self.dModel + 1)), as: "F32")), to: wide)
        let good = folder + "/good.npy"
        try CheckpointBytes.write(CheckpointBytes.npy(descr: "<f4", shape: [4, Self.dModel],
                                                      payload: CheckpointBytes.encode([Float](repeating: 1, count: 4 * Self.dModel), as: "F32")), to: good)
        let badOffsets = folder + "/offsets.safetensors"
        try CheckpointBytes.write(CheckpointBytes.safetensors([
            .init(name: "activations", dtype: "F32", shape: [4, Self.dModel], bytes: CheckpointBytes.encode([Float](repeating: 1, count: 4 * Self.dModel), as: "F32")),
            .init(name: "offsets", dtype: "I64", shape: [3], bytes: [0, 3, 2].flatMap { withUnsafeBytes(of: Int64($0).littleEndian, Array.init) }),
        ]), to: badOffsets)
        let bare = folder + "/bare.npy"
        try CheckpointBytes.write(CheckpointBytes.npy(descr: "<f4", shape: [Self.dSAE, Self.dModel], payload: CheckpointBytes.encode(sae.wDec, as: "F32")), to: bare)
        let cases: [([String], String)] = [
            (["--sae", path, "--toxic", toxic, "--activations", wide], "d_model"),
            (["--sae", path, "--toxic", "/nonexistent/toxic.txt", "--activations", good], "cannot read"),
            (["--sae", path, "--toxic", toxic, "--activations", badOffsets, "--offsets", "offsets"], "offsets must"),
            (["--sae", path, "--toxic", toxic, "--activations", good, "--offsets", "offsets"], "--offsets needs"),
            (["--sae", topkPath, "--toxic", toxic, "--activations", good], "--topk"),
            (["--sae", bare, "--toxic", toxic, "--activations", good], "bare decoder"),
            (["--sae", path, "--toxic", toxic, "--activations", good, "--memory-budget", "1KiB"], "--memory-budget"),
        ]
        for (arguments, expected) in cases {
            let out = folder + "/out.jsonl"
            let run = try CommandRunner.saegeo(["score"] + arguments + ["-o", out, "--device", "cpu"])
            #expect(run.status == 1, "\(arguments): \(run.stderr)")
            #expect(run.stderr.split(separator: "\n").count == 1 && run.stderr.contains(expected), "\(arguments): \(run.stderr)")
            #expect(!FileManager.default.fileExists(atPath: out))
        }
    }

    @Test("the scoring kernels run clean under oclgrind and agree with the cpu", arguments: ["saelensJump", "saelensReLU", "saelensTopK"])
    func oclgrind(_ layoutName: String) throws {
        guard let oclgrind = CommandRunner.which("oclgrind") else {
            #expect(ProcessInfo.processInfo.environment["SAEGEO_REQUIRE_OCLGRIND"] == nil, "oclgrind is required here")
            return
        }
        let sae = Self.make(dtype: "F32", seed: 12)
        let folder = TestFiles.path("score-oclgrind-\(layoutName)")
        let (path, _, _, _) = try Self.write(sae, layout: Layout(rawValue: layoutName)!, dtype: "F32", folder: folder)
        var rng = SeededGenerator(seed: 13)
        let x = (0..<(11 * Self.dModel)).map { _ in Float(rng.gaussian()) }
        let acts = folder + "/acts.safetensors"
        try CheckpointBytes.write(CheckpointBytes.safetensors([
            .init(name: "activations", dtype: "F32", shape: [11, Self.dModel], bytes: CheckpointBytes.encode(x, as: "F32")),
            .init(name: "offsets", dtype: "I64", shape: [4], bytes: [0, 4, 4, 11].flatMap { withUnsafeBytes(of: Int64($0).littleEndian, Array.init) }),
        ]), to: acts)
        let toxic = try TestFiles.write("3\n17\n", to: "oclgrind-toxic.txt")
        let arguments = ["score", "--sae", path, "--toxic", toxic, "--activations", acts, "--offsets", "offsets", "--null-sets", "0"]
        let cpuOut = folder + "/cpu.csv", gpuOut = folder + "/gpu.csv"
        let cpu = try CommandRunner.saegeo(arguments + ["-o", cpuOut, "--device", "cpu"])
        #expect(cpu.status == 0, "\(cpu.stderr)")
        let run = try CommandRunner.run(oclgrind, ["--data-races", "--uninitialized", "--check-api", CommandRunner.saegeo]
                                        + arguments + ["-o", gpuOut, "--device", "opencl:0"],
                                        environment: ["SAEGEO_OPENCL_VARIANT": "tiled", "SAEGEO_OPENCL_MAX_WORK_GROUP": "64"])
        #expect(run.status == 0, "\(run.stderr.prefix(1500))")
        let reports = run.stderr.split(separator: "\n").filter { !$0.hasPrefix("saegeo: ") && !$0.isEmpty }
        #expect(reports.isEmpty, "oclgrind reported: \(reports.prefix(12).joined(separator: "\n"))")
        let a = try SampleScores.read(cpuOut).scores, b = try SampleScores.read(gpuOut).scores
        #expect(a.count == 3 && zip(a, b).allSatisfy { abs($0 - $1) <= 1e-5 * max(abs($0), 1e-2) }, "\(a) vs \(b)")
    }
}
