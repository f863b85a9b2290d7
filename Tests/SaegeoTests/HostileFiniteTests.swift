import Foundation
import Testing
@testable import SaegeoCore

/// Finite in, finite out (issue 21, item 5): a NaN or an infinity in any tensor the encoder uses is
/// refused naming the tensor and its index; activations whose pre-activations could overflow
/// float32 are refused naming the sample; and no output of a working run holds a non-finite number
/// or a token that is not JSON. On the CPU and on OpenCL alike.
@Suite(.serialized)
struct HostileFiniteTests: HostileSuite {
    static let devices = ["cpu", "opencl:0"]

    static func hasDevice(_ device: String) -> Bool {
        device == "cpu" || TestBackends.hasOpenCL
    }

    /// The example's SAE with its float32 tensors edited (values row-major, as stored), and its
    /// cfg.json replaced when `config` is given.
    static func editedSAE(_ folder: String, config: String? = nil, _ edit: (String, inout [Float]) -> Void) throws -> String {
        let sae = try SafetensorsContents(path: example.saePath + "/sae_weights.safetensors")
        let tensors = sae.tensors.keys.sorted().map { name -> CheckpointBytes.Tensor in
            var values = sae.float32(name)
            edit(name, &values)
            let tensor = sae.tensors[name]!
            return CheckpointBytes.Tensor(name: name, dtype: tensor.dtype, shape: tensor.shape,
                                          bytes: CheckpointBytes.encode(values, as: tensor.dtype))
        }
        let path = folder + "/sae"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        try CheckpointBytes.write(CheckpointBytes.safetensors(tensors), to: path + "/sae_weights.safetensors")
        let cfg = try config ?? String(contentsOfFile: example.saePath + "/cfg.json", encoding: .utf8)
        try cfg.write(toFile: path + "/cfg.json", atomically: true, encoding: .utf8)
        return path
    }

    /// The example's activations with every value passed through `transform(row, value)`.
    static func editedActivations(_ path: String, _ transform: (Int, Float) -> Float) throws -> String {
        let file = try SafetensorsContents(path: example.activationsPath)
        let shape = file.tensors["activations"]!.shape, d = shape[1]
        let values = file.float32("activations").enumerated().map { transform($0.offset / d, $0.element) }
        try SafetensorsWriter.write([.float32("activations", shape: shape, values),
                                     .int64("offsets", shape: file.tensors["offsets"]!.shape, file.int64("offsets"))],
                                    metadata: [:], to: path)
        return path
    }

    func score(_ sae: String, _ activations: String, _ output: String, _ device: String, extra: [String] = []) throws -> CommandRunner.Outcome {
        try CommandRunner.saegeo(["score", "--sae", sae, "--toxic", Self.example.toxicPath, "--activations", activations,
                                  "--offsets", "offsets", "-o", output, "--device", device, "--null-sets", "3"] + extra)
    }

    func contrast(_ sae: String, _ a: String, _ b: String, _ output: String, _ device: String, extra: [String] = []) throws -> CommandRunner.Outcome {
        try CommandRunner.saegeo(["contrast", "--sae", sae, "--activations", a, "--offsets", "offsets", "--baseline", b,
                                  "--baseline-offsets", "offsets", "-o", output, "--device", device] + extra)
    }

    /// Features 700, d_model 48: W_enc is stored [48, 700], so W_enc[5, 3] is flat 5 * 700 + 3.
    static let cases: [(name: String, config: String?, tensor: String, index: Int, value: Float, words: [String])] = [
        ("w-enc-inf", nil, "W_enc", 5 * 700 + 3, .infinity, ["'W_enc'", "inf", "[5, 3]"]),
        ("threshold-nan", nil, "threshold", 3, .nan, ["'threshold'", "nan", "[3]"]),
        ("b-enc-nan", nil, "b_enc", 12, .nan, ["'b_enc'", "nan", "[12]"]),
        ("b-dec-inf", "{\"architecture\": \"jumprelu\", \"d_in\": 48, \"d_sae\": 700, \"apply_b_dec_to_input\": true}",
         "b_dec", 2, -.infinity, ["'b_dec'", "-inf", "[2]"]),
    ]

    @Test("a NaN or an infinity in W_enc, a threshold, b_enc or a subtracted b_dec is refused naming tensor and index", arguments: devices)
    func nonFiniteTensorsRefused(_ device: String) throws {
        guard Self.hasDevice(device) else { return }
        for c in Self.cases {
            let folder = try Self.folder("finite-\(c.name)-\(device.replacingOccurrences(of: ":", with: ""))")
            let sae = try Self.editedSAE(folder, config: c.config) { name, values in
                if name == c.tensor { values[c.index] = c.value }
            }
            let scores = folder + "/scores.jsonl"
            Self.expectOneLineError(try score(sae, Self.example.activationsPath, scores, device, extra: ["--summary", folder + "/s.json"]),
                                    c.words[0], c.words[1], c.words[2])
            #expect(!FileManager.default.fileExists(atPath: scores) && !FileManager.default.fileExists(atPath: folder + "/s.json"), "\(c.name)")
            let ranking = folder + "/contrast.jsonl"
            Self.expectOneLineError(try contrast(sae, Self.example.activationsPath, Self.example.activationsPath, ranking, device),
                                    c.words[0], c.words[1], c.words[2])
            #expect(!FileManager.default.fileExists(atPath: ranking), "\(c.name)")
        }
    }

    @Test("a gated SAE's magnitude path: exp(r_mag) past float32 or a NaN b_mag is refused naming tensor and index")
    func gatedMagnitudeRefused() throws {
        let gated = "{\"architecture\": \"gated\", \"d_in\": 48, \"d_sae\": 700, \"apply_b_dec_to_input\": false}"
        for (name, tensor, index, value, words) in [("r-mag", "r_mag", 7, Float(100), ["r_mag", "[7]", "overflows float32"]),
                                                    ("b-mag", "b_mag", 9, Float.nan, ["'b_mag'", "[9]", "nan"])] {
            let folder = try Self.folder("finite-gated-\(name)")
            let sae = try SafetensorsContents(path: Self.example.saePath + "/sae_weights.safetensors")
            let n = 700
            var tensors: [(String, [Int], [Float])] = ["W_enc", "W_dec", "b_dec"].map { ($0, sae.tensors[$0]!.shape, sae.float32($0)) }
            tensors += [("b_gate", [n], sae.float32("b_enc")), ("r_mag", [n], [Float](repeating: 0, count: n)),
                        ("b_mag", [n], sae.float32("b_enc"))]
            let bytes = tensors.map { t in
                var values = t.2
                if t.0 == tensor { values[index] = value }
                return CheckpointBytes.Tensor(name: t.0, dtype: "F32", shape: t.1, bytes: CheckpointBytes.encode(values, as: "F32"))
            }
            try FileManager.default.createDirectory(atPath: folder + "/sae", withIntermediateDirectories: true)
            try CheckpointBytes.write(CheckpointBytes.safetensors(bytes), to: folder + "/sae/sae_weights.safetensors")
            try gated.write(toFile: folder + "/sae/cfg.json", atomically: true, encoding: .utf8)
            let scores = folder + "/scores.jsonl"
            Self.expectOneLineError(try score(folder + "/sae", Self.example.activationsPath, scores, "cpu"), words[0], words[1], words[2])
            #expect(!FileManager.default.fileExists(atPath: scores))
        }
    }

    @Test("activations near 3e38 (finite) are refused naming the sample, not scored NaN", arguments: devices)
    func overflowingActivationsRefused(_ device: String) throws {
        guard Self.hasDevice(device) else { return }
        let folder = try Self.folder("finite-overflow-\(device.replacingOccurrences(of: ":", with: ""))")
        // Token row 7 is sample 2's (3 tokens per sample); its values are finite float32.
        let big = try Self.editedActivations(folder + "/big.safetensors") { row, x in row == 7 ? (x < 0 ? -3e38 : 3e38) : x }
        // Every row scaled far up but finite: on OpenCL the float32 sums used to overflow to NaN.
        let scaled = try Self.editedActivations(folder + "/scaled.safetensors") { _, x in max(-3e38, min(3e38, x * 1e37)) }
        for (activations, sample) in [(big, "sample 2'"), (scaled, "sample 0'")] {
            let scores = folder + "/scores.jsonl"
            Self.expectOneLineError(try score(Self.example.saePath, activations, scores, device), sample, "activations' scale")
            #expect(!FileManager.default.fileExists(atPath: scores))
            let ranking = folder + "/contrast.csv"
            Self.expectOneLineError(try contrast(Self.example.saePath, activations, Self.example.activationsPath, ranking, device,
                                                 extra: ["--summary", folder + "/summary.json"]),
                                    sample, "activations' scale")
            #expect(Self.listing(folder) == ["big.safetensors", "scaled.safetensors"], "\(Self.listing(folder))")
        }
    }

    @Test("every number a working score and contrast writes is finite and every line is JSON", arguments: devices)
    func outputsAreFinite(_ device: String) throws {
        guard Self.hasDevice(device) else { return }
        let folder = try Self.folder("finite-outputs-\(device.replacingOccurrences(of: ":", with: ""))")
        let half = try Self.editedActivations(folder + "/half.safetensors") { row, x in row % 2 == 0 ? x * 0.5 : x }
        let run = try score(Self.example.saePath, Self.example.activationsPath, folder + "/scores.jsonl", device,
                            extra: ["--summary", folder + "/summary.json", "--explain", "3"])
        #expect(run.status == 0, "\(run.stderr)")
        let scored = try contrast(Self.example.saePath, Self.example.activationsPath, half, folder + "/contrast.jsonl", device,
                                  extra: ["--toxic", Self.example.toxicPath, "--summary", folder + "/contrast-summary.json"])
        #expect(scored.status == 0, "\(scored.stderr)")
        for csv in ["scores.csv", "contrast.csv"] {
            let again = csv.hasPrefix("scores") ? try score(Self.example.saePath, Self.example.activationsPath, folder + "/" + csv, device)
                : try contrast(Self.example.saePath, Self.example.activationsPath, half, folder + "/" + csv, device)
            #expect(again.status == 0, "\(again.stderr)")
        }
        for name in ["scores.jsonl", "contrast.jsonl", "summary.json", "contrast-summary.json"] {
            let text = try String(contentsOfFile: folder + "/" + name, encoding: .utf8)
            let documents = name.hasSuffix(".jsonl") ? text.split(separator: "\n").map(String.init) : [text]
            #expect(documents.count > 1 || !name.hasSuffix(".jsonl"))
            for document in documents {
                let value = try StrictJSON.parse(document)
                #expect(Self.nonFinite(value, key: "").isEmpty, "\(name): \(document)")
            }
        }
        for name in ["scores.csv", "contrast.csv"] {
            let lines = try String(contentsOfFile: folder + "/" + name, encoding: .utf8).split(separator: "\n")
            let header = lines[0].split(separator: ",")
            for line in lines.dropFirst() {
                for (column, field) in zip(header, line.split(separator: ",")) where !["dead"].contains(column) {
                    let value = Double(field)
                    // t alone may be +-inf (DESIGN.md: x/0); nothing may be NaN or text.
                    #expect(value != nil && !value!.isNaN && (value!.isFinite || column == "t"), "\(name): \(column) = \(field)")
                }
            }
        }
    }

    /// Paths of the numbers in a JSON value that are not finite (a string t of "inf" / "-inf" is
    /// the documented way contrast writes an infinite t, so it is allowed).
    static func nonFinite(_ value: JSONValue, key: String) -> [String] {
        if let object = value.objectValue { return object.keys.flatMap { nonFinite(object[$0]!, key: key + "." + $0) } }
        if let array = value.arrayValue { return array.enumerated().flatMap { nonFinite($1, key: key + "[\($0)]") } }
        if let number = value.doubleValue { return number.isFinite ? [] : [key] }
        return []
    }
}
