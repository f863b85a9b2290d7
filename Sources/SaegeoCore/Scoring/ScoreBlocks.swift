import Foundation

/// A block of scored samples as tensors, the form a shard's checkpoint saves: scores F32 [n],
/// active I64 [n] and the explanations flattened (count per sample, then features and summed
/// activations back to back).
extension DatasetScorer.Result {
    public var tensors: [OutputTensor] {
        let counts = explanations.map { Int64($0.count) }
        let flat = explanations.flatMap { $0 }
        return [
            .float32("scores", shape: [scores.count], scores),
            .int64("active", shape: [active.count], active),
            .int64("explain_count", shape: [counts.count], counts),
            .int64("explain_feature", shape: [flat.count], flat.map { Int64($0.feature) }),
            .float64("explain_activation", shape: [flat.count], flat.map(\.activation)),
        ]
    }

    /// The blocks' results joined back (without the per-feature totals, which only a whole-dataset
    /// run has).
    public init(tensors: [OutputTensor]) throws {
        func named(_ name: String) throws -> OutputTensor {
            guard let tensor = tensors.first(where: { $0.name == name }) else {
                throw SaegeoError.badFile("a score checkpoint block has no tensor '\(name)'; delete the .checkpoint folder and run again")
            }
            return tensor
        }
        scores = try named("scores").values(Float.self)
        active = try named("active").values(Int64.self)
        let counts = try named("explain_count").values(Int64.self)
        let features = try named("explain_feature").values(Int64.self)
        let activations = try named("explain_activation").values(Double.self)
        guard active.count == scores.count, counts.isEmpty || counts.count == scores.count,
              Int(counts.reduce(0, +)) == features.count, features.count == activations.count else {
            throw SaegeoError.badFile("a score checkpoint is inconsistent; delete the .checkpoint folder and run again")
        }
        var next = 0
        explanations = counts.map { count in
            defer { next += Int(count) }
            return (next..<(next + Int(count))).map { (Int(features[$0]), activations[$0]) }
        }
        featureActivation = []
    }
}
