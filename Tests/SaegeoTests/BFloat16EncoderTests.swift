import Foundation
import Testing
@testable import SaegeoCore

/// The certified bfloat16 first pass of the encoder (CPU/BFloat16/): on generated jobs of every
/// encoder kind, each epilogue (scores with explain, sample features, moments, TopK/GroupMax
/// selection), both W_enc layouts, whole and cut tiles, the native and the portable product:
/// - bit for bit the sums of the same reduction on pre-activations from the exact path's own
///   float32 dot for every pair (it only skips pairs that activate to nothing);
/// - against the float32 path (OpenBLAS): active counts identical wherever no pair is within 1e-5
///   relative of its threshold, scores and sums within 1e-6 relative, the same explanations.
@Suite("bfloat16 encoder first pass")
struct BFloat16EncoderTests {
    static let products: [BFloat16Product] = [.portable] + (BFloat16Product.best == .native ? [.native] : [])
    static let kinds: [EncoderActivation] = [.relu, .jumpReLU, .gated, .topK(5), .groupMax(8)]

    static func engine(_ product: BFloat16Product) -> CPUEngine { CPUEngine(bfloat16: product) }

    static func epilogue(_ kind: EncoderActivation) -> [EncoderEpilogue] {
        if kind.k > 0 { return [EncoderEpilogue(explain: 3, selection: true)] }
        return [EncoderEpilogue(explain: 3), EncoderEpilogue(scores: false, sampleFeatures: true),
                EncoderEpilogue(scores: false, featureMoments: true)]
    }

    static func close(_ a: Double, _ b: Double, _ relative: Double = 1e-6) -> Bool {
        abs(a - b) <= relative * max(abs(a), abs(b)) + 1e-30
    }

    /// Bit for bit: every field the reductions fill.
    static func expectIdentical(_ got: SampleAccumulators, _ want: SampleAccumulators, _ label: String) {
        if got.epilogue.selection {
            // The same features selected, the sums added in the order the heap holds them.
            #expect(zip(got.numerator, want.numerator).allSatisfy { close($0, $1, 1e-12) }
                    && zip(got.denominator, want.denominator).allSatisfy { close($0, $1, 1e-12) }, "\(label): sums")
        } else {
            #expect(got.numerator == want.numerator && got.denominator == want.denominator, "\(label): sums")
        }
        #expect(got.active == want.active, "\(label): active counts")
        #expect(got.featureActivation == want.featureActivation, "\(label): feature totals")
        #expect(got.features == want.features, "\(label): sample features")
        #expect(got.featureMoments == want.featureMoments, "\(label): moments")
        for s in got.best.indices {
            #expect(got.explanation(s).map(\.feature) == want.explanation(s).map(\.feature), "\(label) sample \(s): explained")
        }
    }

    /// Against the float32 path, outside the samples `near` a threshold.
    static func expectClose(_ got: SampleAccumulators, _ want: SampleAccumulators, skipping near: Set<Int>, _ label: String) {
        for s in got.numerator.indices where !near.contains(s) {
            #expect(got.active[s] == want.active[s], "\(label) sample \(s): active \(got.active[s]) vs \(want.active[s])")
            // sum a p cancels (p in [-1, 1]): within 1e-6 of the sample's scale, sum a, as its score.
            let scale = max(abs(want.numerator[s]), want.denominator[s])
            #expect(abs(got.numerator[s] - want.numerator[s]) <= 1e-6 * scale && close(got.denominator[s], want.denominator[s]),
                    "\(label) sample \(s): \(got.numerator[s]) / \(got.denominator[s]) vs \(want.numerator[s]) / \(want.denominator[s])")
            if !got.best.isEmpty {
                #expect(got.explanation(s).map(\.feature) == want.explanation(s).map(\.feature), "\(label) sample \(s): explained")
            }
            if !got.features.isEmpty {
                #expect(got.features[s].map(\.feature) == want.features[s].map(\.feature)
                        && got.features[s].map(\.tokens) == want.features[s].map(\.tokens), "\(label) sample \(s): features")
                // A small activation's float32 error is relative to its terms, not to itself: each
                // feature's sum within 1e-6 of the sample's total activation.
                let total = want.features[s].reduce(0) { $0 + $1.sum }
                #expect(zip(got.features[s], want.features[s]).allSatisfy { abs($0.sum - $1.sum) <= 1e-6 * total },
                        "\(label) sample \(s): feature sums")
            }
        }
        if near.isEmpty {
            #expect(got.featureMoments.map(\.fires) == want.featureMoments.map(\.fires)
                    && got.featureMoments.map(\.tokens) == want.featureMoments.map(\.tokens), "\(label): moments' counts")
        }
    }

    /// Runs `job` through every product, epilogue, layout and tile cut, against both references.
    static func check(_ job: EncoderJob, label: String, near: Set<Int>? = nil) throws {
        let near = near ?? (job.activation.k > 0 ? [] : job.samplesNearThreshold())
        for epilogue in Self.epilogue(job.activation) {
            for tileWidth in [job.features, 37] {
                let exact = job.reduceOnExactDots(epilogue: epilogue, tileWidth: tileWidth)
                let float32 = try job.reduce(on: CPUEngine(), epilogue: epilogue, tileWidth: tileWidth)
                for product in products {
                    for layout in [FeatureMatrix.Layout.rows, .columns] {
                        let engine = Self.engine(product)
                        let got = try job.reduce(on: engine, epilogue: epilogue, layout: layout, tileWidth: tileWidth)
                        let name = "\(label) \(product) \(layout) tiles of \(tileWidth) \(epilogue)"
                        expectIdentical(got, exact, name)
                        expectClose(got, float32, skipping: near, name)
                        let counts = try #require(engine.firstPassCounts)
                        #expect(counts.encoderRows == job.rows, "\(name): rows")
                        #expect(counts.decidedFeatures + counts.recomputedFeatures == job.rows * job.features, "\(name): pairs")
                    }
                }
            }
        }
    }

    @Test("every encoder kind on generated jobs equals the exact dots bit for bit and the float32 path",
          arguments: kinds)
    func generated(kind: EncoderActivation) throws {
        for seed: UInt64 in [1, 2] {
            let job = EncoderJob.generated(kind, seed: seed)
            try Self.check(job, label: "\(kind) seed \(seed)")
            // The first pass decides most pairs on these jobs (or the test proves nothing).
            let engine = Self.engine(.portable)
            _ = try job.reduce(on: engine, epilogue: Self.epilogue(kind)[0])
            let counts = try #require(engine.firstPassCounts)
            #expect(counts.decidedFeatures > counts.recomputedFeatures, "\(kind): \(counts)")
        }
    }

    @Test("the float32 engine reports no first pass; a bfloat16 one counts from zero")
    func counts() throws {
        #expect(CPUEngine().firstPassCounts == nil)
        #expect(Self.engine(.portable).firstPassCounts == FirstPassCounts())
    }

    @Test("the planner counts the rounded chunk and tile of a bfloat16 engine")
    func plannerCountsRoundedOperands() throws {
        let problem = ScorePlanner.Problem(features: 16384, dimension: 2304, topK: 0)
        var bits = problem
        bits.firstPassValueBytes = 2
        var floats = problem
        floats.firstPassValueBytes = 4
        let rows = 2048, tile = 16384
        let float32 = ScorePlanner.hostBytes(problem, rows: rows, tile: tile)
        #expect(ScorePlanner.hostBytes(bits, rows: rows, tile: tile) == float32 + (rows + tile) * (2304 * 2 + 16) + rows * tile * 4)
        #expect(ScorePlanner.hostBytes(floats, rows: rows, tile: tile) > ScorePlanner.hostBytes(bits, rows: rows, tile: tile))
        for product in Self.products {
            let engine = Self.engine(product)
            #expect(engine.capabilities.firstPassValueBytes == (product.holdsBits ? 2 : 4))
            let device = TilePlanner.Device(id: "cpu", capabilities: engine.capabilities, deviceMemory: 1 << 40, budget: 64 << 20)
            let plan = try ScorePlanner.plan(problem, devices: [device], budget: 64 << 20)
            var counted = problem
            counted.firstPassValueBytes = engine.capabilities.firstPassValueBytes
            #expect(ScorePlanner.hostBytes(counted, rows: plan.rowChunk, tile: plan.featureTile) <= 64 << 20, "\(product)")
        }
        #expect(CPUEngine().capabilities.firstPassValueBytes == 0)
    }

    @Test("the bound holds: the bfloat16 value within beta of every float32 evaluation, for any scale")
    func boundHolds() throws {
        var rng = SeededGenerator(seed: 31)
        for trial in 0..<400 {
            let d = [1, 7, 64, 300, 2304][trial % 5]
            let scale = Float([1e-30, 1e-3, 1, 1e3, 1e15][trial / 5 % 5])
            let x = (0..<d).map { _ in Float(rng.gaussian()) * scale }, w = (0..<d).map { _ in Float(rng.gaussian()) }
            var xr = [Float](repeating: 0, count: d), wr = xr
            let xn = BFloat16.round(x, count: d, bits: nil, rounded: &xr), wn = BFloat16.round(w, count: d, bits: nil, rounded: &wr)
            // The approximate value in two orders (forward and backward float sums of exact products).
            let forward = zip(xr, wr).reduce(Float(0)) { $0 + $1.0 * $1.1 }
            let backward = zip(xr, wr).reversed().reduce(Float(0)) { $0 + $1.0 * $1.1 }
            let plain = zip(x, w).reduce(Float(0)) { $0 + $1.0 * $1.1 }, fused = ExactFloat32.dot(x, w, count: d)
            let beta = EncoderFirstPass.bound(xn, wn, gamma: BFloat16Bound.gamma(d), dimension: d)
            for a in [forward, backward] {
                for p in [plain, fused] {
                    #expect(abs(Double(a) - Double(p)) <= beta, "trial \(trial) d \(d) scale \(scale): |\(a) - \(p)| > \(beta)")
                }
            }
            // And not uselessly loose: within 2^-5 of ||x|| ||w|| (the bfloat16 worst case is 2^-7).
            #expect(beta <= 0x1p-5 * Double((xn.rounded + xn.error) * (wn.rounded + wn.error)) + Double(2 * d) * 0x1p-126)
        }
    }
}
