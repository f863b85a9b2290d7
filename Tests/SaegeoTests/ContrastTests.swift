import Foundation
import Testing
@testable import SaegeoCore

/// `contrast` against a float64 reference of the Definitions written plainly here: every
/// statistic of every feature, for each architecture, unpaired and paired, on the CPU, on every
/// OpenCL device and on both together; with a dead feature, a feature that fires in one set
/// only, and empty samples.
struct ContrastTests {
    static let d = FamilyTests.dIn, n = 53
    typealias Ref = FamilyTests.Reference

    /// A SAELens checkpoint of `architecture` and its reference; feature 9's decoder row is zero
    /// (dead) and feature 30 can fire only on set A (its encoder column reads only A's last
    /// dimension, which B never has).
    static func sae(_ architecture: String, folder: String) throws -> (String, Ref) {
        var v = FamilyTests.Values(rng: SeededGenerator(seed: 21), dtype: "F32")
        var wEnc = v.next(d * n, 0.4), wDec = v.next(n * d, 1)
        let bEnc = v.next(n, 0.3, -0.2), bDec = [Float](repeating: 0, count: d), threshold = v.next(n, 0.1, 0.3).map(abs)
        let rMag = v.next(n, 0.3), bMag = v.next(n, 0.3)
        for i in 0..<d { wDec[9 * d + i] = 0 }
        for i in 0..<d { wEnc[i * n + 30] = i == d - 1 ? 3 : 0 }
        var tensors = [FamilyTests.tensor("W_enc", wEnc, [d, n], "F32"), FamilyTests.tensor("W_dec", wDec, [n, d], "F32"),
                       FamilyTests.tensor("b_dec", bDec, [d], "F32")]
        var reference = Ref(features: n, dOut: d, wEnc: FamilyTests.doubles(FamilyTests.transposed(wEnc, d, n)),
                            bias: FamilyTests.doubles(bEnc), wDec: FamilyTests.doubles(wDec), activation: .relu)
        switch architecture {
        case "gated":
            tensors += [FamilyTests.tensor("b_gate", bEnc, [n], "F32"), FamilyTests.tensor("r_mag", rMag, [n], "F32"),
                        FamilyTests.tensor("b_mag", bMag, [n], "F32")]
            reference.activation = .gated(scale: rMag.map { Double(Float(exp(Double($0)))) }, bias: FamilyTests.doubles(bMag))
        default:
            tensors += [FamilyTests.tensor("b_enc", bEnc, [n], "F32"), FamilyTests.tensor("threshold", threshold, [n], "F32")]
            if architecture == "jumprelu" { reference.activation = .jump(FamilyTests.doubles(threshold)) }
            if architecture == "topk" { reference.activation = .topK(6) }
        }
        try CheckpointBytes.write(CheckpointBytes.safetensors(tensors), to: folder + "/sae/sae_weights.safetensors")
        try FamilyTests.json(["architecture": architecture, "d_in": d, "d_sae": n, "k": 6, "apply_b_dec_to_input": false],
                             to: folder + "/sae/cfg.json")
        return (folder + "/sae", reference)
    }

    /// Token rows with offsets: `starts` samples; A's rows have a positive last dimension, B's 0.
    static func activations(_ path: String, starts: [Int], seed: UInt64, setA: Bool) throws -> [Double] {
        var rng = SeededGenerator(seed: seed)
        let rows = starts.last!
        var x = (0..<(rows * d)).map { _ in Float(rng.gaussian() * 1.5) }
        for r in 0..<rows { x[r * d + d - 1] = setA ? abs(x[r * d + d - 1]) : 0 }
        try CheckpointBytes.write(CheckpointBytes.safetensors([
            .init(name: "activations", dtype: "F32", shape: [rows, d], bytes: CheckpointBytes.encode(x, as: "F32")),
            .init(name: "offsets", dtype: "I64", shape: [starts.count], bytes: starts.flatMap { withUnsafeBytes(of: Int64($0).littleEndian, Array.init) }),
        ]), to: path)
        return x.map(Double.init)
    }

    /// The Definitions in float64: per feature (fires, tokens, mean, variance) of m_f(s), or of
    /// the paired differences.
    static func statistics(_ ref: Ref, _ x: [Double], starts: [Int]) -> (fires: [Int], tokens: [Int], m: [[Double]]) {
        var fires = [Int](repeating: 0, count: n), tokens = fires, m: [[Double]] = []
        for s in 0..<(starts.count - 1) {
            var sums = [Double](repeating: 0, count: n), fired = Set<Int>()
            for row in starts[s]..<starts[s + 1] {
                let a = ref.encode(Array(x[(row * d)..<((row + 1) * d)]))
                for f in 0..<n where a[f] > 0 { sums[f] += a[f]; tokens[f] += 1; fired.insert(f) }
            }
            for f in fired { fires[f] += 1 }
            let length = Double(starts[s + 1] - starts[s])
            m.append(length > 0 ? sums.map { $0 / length } : sums)
        }
        return (fires, tokens, m)
    }

    static func meanAndVariance(_ values: [Double]) -> (Double, Double) {
        let mean = values.reduce(0, +) / Double(values.count)
        let variance = values.count < 2 ? 0 : values.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(values.count - 1)
        return (mean, variance)
    }

    static func ratio(_ x: Double, _ y: Double) -> Double { y > 0 ? x / y : (x == 0 ? 0 : (x > 0 ? .infinity : -.infinity)) }

    static func close(_ got: Double, _ want: Double) -> Bool {
        if !want.isFinite { return got == want }
        return abs(got - want) <= 1e-4 * max(abs(want), 1e-3)
    }

    struct Case: CustomStringConvertible, Sendable {
        let architecture: String
        let paired: Bool
        var description: String { "\(architecture)\(paired ? " paired" : "")" }
    }

    static let cases = ["standard", "jumprelu", "topk", "gated"].flatMap { [Case(architecture: $0, paired: false), Case(architecture: $0, paired: true)] }

    @Test("every statistic matches the float64 reference on every device", arguments: cases)
    func matchesReference(_ c: Case) throws {
        let folder = TestFiles.path("contrast-\(c.architecture)-\(c.paired)")
        let (saePath, ref) = try Self.sae(c.architecture, folder: folder)
        // Uneven samples with empty ones; paired sets share the offsets.
        let startsA = [0, 3, 3, 9, 10, 17, 17, 25, 31], startsB = c.paired ? startsA : [0, 4, 4, 11, 18, 19, 27]
        let xA = try Self.activations(folder + "/a.safetensors", starts: startsA, seed: 1, setA: true)
        let xB = try Self.activations(folder + "/b.safetensors", starts: startsB, seed: 2, setA: !c.paired ? false : true)
        let a = Self.statistics(ref, xA, starts: startsA), b = Self.statistics(ref, xB, starts: startsB)
        let nA = Double(startsA.count - 1), nB = Double(startsB.count - 1)
        #expect(a.fires[30] > 0 && (c.paired || b.fires[30] == 0), "feature 30 fires on A only")

        let checkpoint = try SAECheckpoint.open(saePath)
        let encoder = try SAEEncoder(checkpoint: checkpoint)
        var contrast = try DatasetContrast(encoder: encoder, a: try ActivationsFile.open(folder + "/a.safetensors", tensor: nil, offsets: "offsets"),
                                           b: try ActivationsFile.open(folder + "/b.safetensors", tensor: nil, offsets: "offsets"),
                                           paired: c.paired)
        contrast.rowChunk = 8
        contrast.featureTile = 16
        for device in FamilyTests.devices {
            let result = try contrast.run(on: try FamilyTests.engines(device))
            let ranking = FeatureContrast.ranked(a: result.a, b: result.b, differences: result.differences, dead: { $0 == 9 })
            #expect(ranking.last?.feature == 9 && ranking.last?.dead == true, "\(c) \(device): the dead feature ranks last")
            for row in ranking {
                let f = row.feature
                let (meanA, varA) = Self.meanAndVariance(a.m.map { $0[f] }), (meanB, varB) = Self.meanAndVariance(b.m.map { $0[f] })
                let t: Double
                if c.paired {
                    let (meanD, varD) = Self.meanAndVariance(zip(a.m, b.m).map { $0[f] - $1[f] })
                    t = Self.ratio(meanD, (varD / nA).squareRoot())
                } else {
                    t = Self.ratio(meanA - meanB, (varA / nA + varB / nB).squareRoot())
                }
                let cA = Double(a.fires[f]), cB = Double(b.fires[f])
                let logOdds = log(((cA + 0.5) / (nA - cA + 0.5)) / ((cB + 0.5) / (nB - cB + 0.5)))
                let label = "\(c) \(device) feature \(f)"
                #expect(row.firesA == Int64(a.fires[f]) && row.firesB == Int64(b.fires[f]), "\(label): fires")
                #expect(row.tokensA == Int64(a.tokens[f]) && row.tokensB == Int64(b.tokens[f]), "\(label): tokens")
                #expect(Self.close(row.meanA, meanA) && Self.close(row.meanB, meanB), "\(label): means \(row.meanA) \(meanA), \(row.meanB) \(meanB)")
                #expect(Self.close(row.rateA, cA / nA) && Self.close(row.rateB, cB / nB), "\(label): rates")
                #expect(Self.close(row.t, t), "\(label): t \(row.t) vs \(t)")
                #expect(abs(row.logOdds - logOdds) <= 1e-12, "\(label): log odds")
            }
            // The ranking: t descending, ties to the lower id, the dead feature last.
            let live = ranking.filter { !$0.dead }
            for (x, y) in zip(live, live.dropFirst()) { #expect(x.t > y.t || (x.t == y.t && x.feature < y.feature), "\(c) \(device): order") }
        }
    }
}
