import Foundation
import Testing
@testable import SaegeoCore

/// Every checkpoint family saegeo reads, in the dtypes it ships: the decoder read back exactly,
/// neighbours and sample scores against a float64 reference of the family's own encoding
/// (written plainly below), on the CPU, on every OpenCL device and on both together. The
/// safetensors families are written here; the PyTorch ones by real torch.save
/// (Tests/Fixtures/families/make_family_fixtures.py), with numpy's copy of every tensor beside.
struct FamilyTests {
    static let dIn = 19
    static let toxic = [3, 17, 40]

    enum Activation {
        case relu
        case jump([Double])
        case topK(Int)
        case groupMax(Int)
        case gated(scale: [Double], bias: [Double])
    }

    enum Normalization { case none, layerNorm, unitNorm }

    /// An SAE as its family encodes it, in float64: features are rows of `wEnc` and `wDec`.
    struct Reference {
        var features: Int
        var dOut: Int
        var wEnc: [Double]
        var bias: [Double]
        var wDec: [Double]
        var activation: Activation
        var subtract: [Double]? = nil
        var scale = 1.0
        var normalization = Normalization.none

        func proximity() -> [Double] {
            func norm(_ f: Int) -> Double { (0..<dOut).reduce(0.0) { $0 + wDec[f * dOut + $1] * wDec[f * dOut + $1] }.squareRoot() }
            func cosine(_ f: Int, _ g: Int) -> Double {
                (0..<dOut).reduce(0.0) { $0 + wDec[f * dOut + $1] * wDec[g * dOut + $1] } / (norm(f) * norm(g))
            }
            return (0..<features).map { f in norm(f) > 0 ? FamilyTests.toxic.map { cosine(f, $0) }.max()! : 0 }
        }

        /// The activations of one token row.
        func encode(_ row: [Double]) -> [Double] {
            var x = row
            let d = Double(x.count)
            switch normalization {
            case .none: break
            case .layerNorm:
                let mean = x.reduce(0, +) / d
                let deviation = (x.reduce(0.0) { $0 + ($1 - mean) * ($1 - mean) } / (d - 1)).squareRoot()
                x = x.map { ($0 - mean) / (deviation + 1e-5) }
            case .unitNorm:
                let norm = x.reduce(0.0) { $0 + $1 * $1 }.squareRoot()
                x = x.map { $0 * d.squareRoot() / norm }
            }
            x = x.map { $0 * scale }
            if let subtract { x = zip(x, subtract).map { $0 - $1 } }
            let products = (0..<features).map { f in (0..<x.count).reduce(0.0) { $0 + x[$1] * wEnc[f * x.count + $1] } }
            let pre = zip(products, bias).map { $0 + $1 }
            switch activation {
            case .relu: return pre.map { max($0, 0) }
            case .jump(let threshold): return pre.indices.map { pre[$0] > threshold[$0] ? max(pre[$0], 0) : 0 }
            case .topK(let k):
                let keep = Set(pre.indices.sorted { pre[$0] != pre[$1] ? pre[$0] > pre[$1] : $0 < $1 }.prefix(k))
                return pre.indices.map { keep.contains($0) ? max(pre[$0], 0) : 0 }
            case .groupMax(let k):
                let size = features / k
                var out = [Double](repeating: 0, count: features)
                for g in 0..<k {
                    let best = (g * size..<(g + 1) * size).max { pre[$0] != pre[$1] ? pre[$0] < pre[$1] : $0 > $1 }!
                    out[best] = max(pre[best], 0)
                }
                return out
            case .gated(let scale, let magnitudeBias):
                return (0..<features).map { f in pre[f] > 0 ? max(products[f] * scale[f] + magnitudeBias[f], 0) : 0 }
            }
        }

        func scores(rows x: [Double], starts: [Int]) -> (scores: [Double], active: [Int]) {
            let p = proximity()
            var scores: [Double] = [], active: [Int] = []
            for s in 0..<(starts.count - 1) {
                var num = 0.0, den = 0.0, seen = Set<Int>()
                for row in starts[s]..<starts[s + 1] {
                    let a = encode(Array(x[(row * FamilyTests.dIn)..<((row + 1) * FamilyTests.dIn)]))
                    for f in 0..<features where a[f] > 0 { num += a[f] * p[f]; den += a[f]; seen.insert(f) }
                }
                scores.append(den > 0 ? num / den : 0)
                active.append(seen.count)
            }
            return (scores, active)
        }
    }

    // MARK: Checks shared by every family

    static var devices: [String] { BackendCase.deviceLists }

    static func engines(_ device: String) throws -> [ComputeEngine] { try BackendCase.engines(device) }

    /// The decoder as written, neighbours of the toxic features and scores of 37 token rows in
    /// uneven samples (one empty), against `reference`, on every device.
    static func check(_ path: String, format: SAECheckpoint.Format, _ reference: Reference, label: String) throws {
        let checkpoint = try SAECheckpoint.open(path)
        #expect(checkpoint.format == format, "\(label)")
        #expect(checkpoint.dSAE == reference.features && checkpoint.dModel == reference.dOut, "\(label)")
        let decoder = try checkpoint.decoder()
        var row = [Float](repeating: 0, count: reference.dOut)
        for f in 0..<reference.features {
            row.withUnsafeMutableBufferPointer { decoder.copyFeature(f, into: $0.baseAddress!) }
            #expect(row.map(Double.init) == Array(reference.wDec[(f * reference.dOut)..<((f + 1) * reference.dOut)]),
                    "\(label): decoder direction \(f)")
        }

        // Neighbours: the float64 reference, bit-identical across devices.
        let k = 6
        var expected: [Int64] = []
        func norm(_ f: Int) -> Double { (0..<reference.dOut).reduce(0.0) { $0 + reference.wDec[f * reference.dOut + $1] * reference.wDec[f * reference.dOut + $1] }.squareRoot() }
        for q in toxic {
            let ranked = (0..<reference.features).filter { $0 != q && norm($0) > 0 }.map { g -> (Int, Double) in
                (g, (0..<reference.dOut).reduce(0.0) { $0 + reference.wDec[q * reference.dOut + $1] * reference.wDec[g * reference.dOut + $1] } / (norm(q) * norm(g)))
            }.sorted { $0.1 != $1.1 ? $0.1 > $1.1 : $0.0 < $1.0 }
            expected += ranked.prefix(k).map { Int64($0.0) }
        }
        var firstScores: [UInt32]?
        for device in devices {
            let search = try NeighborSearch(dictionary: decoder, queries: toxic, keys: Array(0..<reference.features), k: k)
            let result = try search.run(on: try engines(device))
            #expect(result.indices == expected, "\(label) \(device): neighbours")
            if let firstScores { #expect(result.scores.map(\.bitPattern) == firstScores, "\(label) \(device): neighbour scores") }
            firstScores = result.scores.map(\.bitPattern)
        }

        // Scores.
        var rng = SeededGenerator(seed: 5)
        let rows = 37
        let x = (0..<(rows * dIn)).map { _ in Float(rng.gaussian() * 1.5) }
        let starts = [0, 5, 5, 12, 13, 30, 37]
        let activationsPath = TestFiles.path("family-acts-\(label.replacingOccurrences(of: " ", with: "_")).safetensors")
        try CheckpointBytes.write(CheckpointBytes.safetensors([
            .init(name: "activations", dtype: "F32", shape: [rows, dIn], bytes: CheckpointBytes.encode(x, as: "F32")),
            .init(name: "offsets", dtype: "I64", shape: [starts.count],
                  bytes: starts.flatMap { withUnsafeBytes(of: Int64($0).littleEndian, Array.init) }),
        ]), to: activationsPath)
        let want = reference.scores(rows: x.map(Double.init), starts: starts)
        #expect(want.active.contains { $0 > 0 } && want.active.contains { $0 == 0 }, "\(label): the data must activate some samples and not the empty one")
        let encoder = try SAEEncoder(checkpoint: checkpoint)
        let proximity = try ToxicProximity.compute(decoder: decoder, toxic: toxic, engines: [CPUEngine()])
        let data = try ActivationsFile.open(activationsPath, tensor: nil, offsets: "offsets")
        var cpuScores: [Float] = []
        for device in devices {
            var scorer = try DatasetScorer(encoder: encoder, proximity: proximity.proximity, activations: data)
            scorer.rowChunk = 8
            scorer.featureTile = 16
            let result = try scorer.run(on: try engines(device))
            #expect(result.active.map(Int.init) == want.active, "\(label) \(device): active features")
            for (s, (got, value)) in zip(result.scores, want.scores).enumerated() {
                #expect(abs(Double(got) - value) <= 1e-4 * max(abs(value), 1e-3), "\(label) \(device) sample \(s): \(got) vs \(value)")
            }
            // The certified bfloat16 first pass: within 1e-6 of the float32 path's scores.
            if device == "cpu" { cpuScores = result.scores }
            if device.hasPrefix("cpu-bfloat16") {
                for (a, b) in zip(result.scores, cpuScores) { #expect(abs(a - b) <= 1e-6 * max(abs(b), 1), "\(label) \(device): \(a) vs cpu \(b)") }
            }
        }
    }

    // MARK: Random SAEs in the dtypes files hold

    struct Values {
        var rng: SeededGenerator
        let dtype: String
        mutating func next(_ count: Int, _ scale: Double, _ shift: Double = 0) -> [Float] {
            let raw = (0..<count).map { _ in Float(rng.gaussian() * scale + shift) }
            return CheckpointBytes.decode(CheckpointBytes.encode(raw, as: dtype), as: dtype)
        }
    }

    static func tensor(_ name: String, _ values: [Float], _ shape: [Int], _ dtype: String) -> CheckpointBytes.Tensor {
        .init(name: name, dtype: dtype, shape: shape, bytes: CheckpointBytes.encode(values, as: dtype))
    }

    static func json(_ object: [String: Any], to path: String) throws {
        try JSONSerialization.data(withJSONObject: object).write(to: URL(fileURLWithPath: path))
    }

    static func folder(_ name: String) -> String {
        let path = TestFiles.path(name)
        try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    static func doubles(_ v: [Float]) -> [Double] { v.map(Double.init) }
    /// [rows, columns] row-major → its transpose, row-major.
    static func transposed(_ v: [Float], _ rows: Int, _ columns: Int) -> [Float] {
        CheckpointBytes.transpose(v, rows: rows, columns: columns)
    }
}
