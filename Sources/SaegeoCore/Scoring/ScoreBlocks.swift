import Foundation

/// A block of scored samples as tensors, the form a shard's checkpoint and its sums file save:
/// scores F32 [n], active I64 [n], the explanations flattened (count per sample, then features and
/// summed activations back to back), each sample's numerator and denominator F64 [n], and the
/// block's exact per-feature activation mass as (feature, partial) pairs (FeatureMass).
extension DatasetScorer.Result {
    /// The tensors that are sums over the block's samples, added across blocks, not joined.
    public static let massTensors: Set<String> = ["mass_feature", "mass_partial"]

    public var tensors: [OutputTensor] {
        let counts = explanations.map { Int64($0.count) }
        let flat = explanations.flatMap { $0 }
        return [
            .float32("scores", shape: [scores.count], scores),
            .int64("active", shape: [active.count], active),
            .int64("explain_count", shape: [counts.count], counts),
            .int64("explain_feature", shape: [flat.count], flat.map { Int64($0.feature) }),
            .float64("explain_activation", shape: [flat.count], flat.map(\.activation)),
            .float64("sample_numerator", shape: [sampleNumerators.count], sampleNumerators),
            .float64("sample_denominator", shape: [sampleDenominators.count], sampleDenominators),
        ] + featureMass.tensors
    }

    /// Whether tensors hold a block of `samples` samples with everything a result needs (a block
    /// saved by an older saegeo, without the sums, is computed again).
    public static func holds(_ tensors: [OutputTensor], samples: Int) -> Bool {
        let names = Set(tensors.map(\.name))
        return ["scores", "sample_numerator", "sample_denominator"].allSatisfy(names.contains)
            && massTensors.isSubset(of: names)
            && tensors.first { $0.name == "scores" }?.shape.first == samples
    }

    /// Blocks' results joined back: `tensors` joined along their first axis, and the mass of
    /// `features` features from `mass` (the blocks' mass tensors, added) or, when nil, from the
    /// joined tensors themselves.
    public init(tensors: [OutputTensor], features: Int, mass: FeatureMass? = nil) throws {
        func named(_ name: String) throws -> OutputTensor {
            guard let tensor = tensors.first(where: { $0.name == name }) else {
                throw SaegeoError.badFile("a score block has no tensor '\(name)'; compute it again")
            }
            return tensor
        }
        scores = try named("scores").values(Float.self)
        active = try named("active").values(Int64.self)
        let counts = try named("explain_count").values(Int64.self)
        let features64 = try named("explain_feature").values(Int64.self)
        let activations = try named("explain_activation").values(Double.self)
        sampleNumerators = try named("sample_numerator").values(Double.self)
        sampleDenominators = try named("sample_denominator").values(Double.self)
        guard active.count == scores.count, counts.isEmpty || counts.count == scores.count,
              counts.allSatisfy({ $0 >= 0 }), Int(counts.reduce(0, +)) == features64.count,
              features64.count == activations.count,
              sampleNumerators.count == scores.count, sampleDenominators.count == scores.count else {
            throw SaegeoError.badFile("a score block is inconsistent (its tensors disagree on the samples); compute it again")
        }
        var next = 0
        explanations = counts.map { count in
            defer { next += Int(count) }
            return (next..<(next + Int(count))).map { (Int(features64[$0]), activations[$0]) }
        }
        if let mass {
            featureMass = mass
        } else {
            featureMass = FeatureMass(features: features)
            try featureMass.add(from: tensors)
        }
    }
}

extension FeatureMass {
    /// The partials as the tensors `mass_feature` I64 and `mass_partial` F64 (a block's, a shard's sums).
    var tensors: [OutputTensor] {
        let entries = self.entries
        return [.int64("mass_feature", shape: [entries.features.count], entries.features),
                .float64("mass_partial", shape: [entries.partials.count], entries.partials)]
    }

    /// Adds the mass tensors of a block (see `DatasetScorer.Result.tensors`).
    public mutating func add(from tensors: [OutputTensor]) throws {
        guard let features = tensors.first(where: { $0.name == "mass_feature" }),
              let partials = tensors.first(where: { $0.name == "mass_partial" }),
              add(features: features.values(Int64.self), partials: partials.values(Double.self)) else {
            throw SaegeoError.badFile("a score block's activation mass (mass_feature, mass_partial) is missing or does not fit its \(self.features) features; compute it again")
        }
    }
}
