import Foundation
import Testing
@testable import SaegeoCore

/// The certified first pass where its bound is tested hardest: pre-activations a hair above and
/// below the threshold, huge and tiny activation norms (subnormal values included), dead features,
/// TopK and GroupMax cuts through exact ties. Each is checked as BFloat16EncoderTests.check does.
extension BFloat16EncoderTests {
    /// Puts the levels of a few (row, feature) pairs at their float64 value times (1 + delta).
    static func hairs(_ job: inout EncoderJob, deltas: [Double]) {
        for (n, delta) in deltas.enumerated() {
            let row = (7 * n + 3) % job.rows, f = (11 * n + 5) % job.features
            let (value, _) = job.exactValue(row, f)
            if job.thresholds != nil {
                job.thresholds![f] = Float(value * (1 + delta))
            } else {
                // ReLU and the gate compare pre + b with 0: move the bias instead.
                job.bias[f] = Float(Double(job.bias[f]) - value * (1 + delta))
            }
        }
    }

    static let deltas: [Double] = [0, 1e-8, -1e-8, 1e-7, -1e-7, 1e-6, -1e-6, 1e-5, -1e-5, 1e-3, -1e-3, 0.1, -0.1]

    @Test("pre-activations a hair above and below the threshold", arguments: [EncoderActivation.relu, .jumpReLU, .gated])
    func hairAroundThreshold(kind: EncoderActivation) throws {
        var job = EncoderJob.generated(kind, seed: 7)
        Self.hairs(&job, deltas: Self.deltas)
        let near = job.samplesNearThreshold()
        #expect(!near.isEmpty, "the hairs put some pairs within 1e-5 of their threshold")
        try Self.check(job, label: "\(kind) hairs", near: near)
        // Those pairs are left to the exact path: recomputed, never decided.
        let engine = Self.engine(.portable)
        _ = try job.reduce(on: engine, epilogue: EncoderEpilogue())
        #expect(try #require(engine.firstPassCounts).recomputedFeatures >= Self.deltas.count)
    }

    @Test("huge, tiny and subnormal activation rows", arguments: [EncoderActivation.relu, .jumpReLU, .gated, .topK(4), .groupMax(6)])
    func extremeNorms(kind: EncoderActivation) throws {
        var job = EncoderJob.generated(kind, seed: 11)
        let scales: [Float] = [1e15, 1e-15, 1e-30, 1e-38, 1e-41, 0, 3e9]
        for (row, scale) in scales.enumerated() {
            for i in 0..<job.d { job.x[row * job.d + i] *= scale }
        }
        try Self.check(job, label: "\(kind) extreme norms")
    }

    @Test("dead features: zero encoder vectors with positive, negative and zero biases",
          arguments: [EncoderActivation.relu, .jumpReLU, .gated, .topK(6), .groupMax(8)])
    func deadFeatures(kind: EncoderActivation) throws {
        var job = EncoderJob.generated(kind, seed: 13)
        for (n, f) in [0, 9, 10, 33, 95].enumerated() {
            for i in 0..<job.d { job.w[f * job.d + i] = 0 }
            job.bias[f] = [Float(0.5), -0.5, 0, 2.5, 0][n]
        }
        try Self.check(job, label: "\(kind) dead features")
    }

    @Test("TopK and GroupMax cuts through exact ties", arguments: [EncoderActivation.topK(3), .topK(7), .groupMax(12)])
    func selectionTies(kind: EncoderActivation) throws {
        var job = EncoderJob.generated(kind, seed: 17)
        // Features 8..<16 repeat feature 0 (vector, bias, proximity): equal values, ties at the cut.
        for f in 1..<16 where f % 8 == 0 || f > 8 {
            for i in 0..<job.d { job.w[f * job.d + i] = job.w[i] }
            job.bias[f] = job.bias[0]
            job.proximity[f] = job.proximity[0]
        }
        // Feature 0 large on every row, so the duplicates sit at the K-th value.
        for row in 0..<job.rows {
            var dot = 0.0
            for i in 0..<job.d { dot += Double(job.x[row * job.d + i]) * Double(job.w[i]) }
            if dot < 0 { for i in 0..<job.d { job.x[row * job.d + i] = -job.x[row * job.d + i] } }
        }
        try Self.check(job, label: "\(kind) ties")
    }

    @Test("an engine reused for another dictionary of the same shape rounds the new one")
    func reusedEngine() throws {
        for product in Self.products {
            let engine = Self.engine(product)
            for seed: UInt64 in [21, 22, 23] {
                let job = EncoderJob.generated(.jumpReLU, seed: seed)
                let got = try job.reduce(on: engine, epilogue: EncoderEpilogue(explain: 3))
                Self.expectIdentical(got, job.reduceOnExactDots(epilogue: EncoderEpilogue(explain: 3)), "\(product) seed \(seed)")
            }
        }
    }

    @Test("a few undecided features (their columns gathered one by one) and none at all")
    func fewUndecided() throws {
        var job = EncoderJob.generated(.jumpReLU, seed: 29)
        job.thresholds = [Float](repeating: 1e3, count: job.features)
        let none = job
        Self.hairs(&job, deltas: [1e-7, -1e-3])
        try Self.check(job, label: "few undecided")
        try Self.check(none, label: "none undecided")
        let engine = Self.engine(.portable)
        _ = try none.reduce(on: engine, epilogue: EncoderEpilogue(), layout: .columns)
        #expect(try #require(engine.firstPassCounts).recomputedFeatures == 0)
    }
}

