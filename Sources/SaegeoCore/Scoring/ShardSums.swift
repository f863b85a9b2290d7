import Foundation

/// What a `score --shard` carries so that `merge --summary` writes the single run's dataset
/// summary (docs/statistics.md): each of its samples' numerator and denominator (the bootstrap
/// resamples them), its exact per-feature activation mass (the permutation null moves it;
/// FeatureMass, so the shards add up to the single run's mass bit for bit), and the toxic
/// proximities and dead features it scored with. A safetensors file beside the shard, `OUT.sums`
/// (not `.safetensors`, so a glob of the shards does not take it for one), with the shard's
/// manifest and a checksum of its own.
public struct ShardSums: Sendable {
    public var manifest: ShardManifest
    public var numerators: [Double]
    public var denominators: [Double]
    public var mass: FeatureMass
    public var proximity: [Float]
    public var dead: [Int64]

    public static func path(besides output: String) -> String { output + ".sums" }

    var tensors: [OutputTensor] {
        [.float64("sample_numerator", shape: [numerators.count], numerators),
         .float64("sample_denominator", shape: [denominators.count], denominators)]
            + mass.tensors
            + [.float32("proximity", shape: [proximity.count], proximity),
               .int64("dead", shape: [dead.count], dead)]
    }

    /// Writes the file beside the shard `output`, as an output of the shard's job.
    public func write(besides output: String, job: Job) throws {
        var manifest = self.manifest
        let tensors = self.tensors
        manifest.checksum = manifest.checksum(of: tensors)
        try job.write(Self.path(besides: output)) { try SafetensorsWriter.write(tensors, metadata: manifest.metadata, into: $0) }
    }

    /// The sums beside the shard `output`, checked against the shard's own manifest (same job,
    /// shard and range) and against their checksum.
    static func read(besides output: String, shard: ShardManifest) throws -> ShardSums {
        let path = Self.path(besides: output)
        guard FileManager.default.fileExists(atPath: path) else {
            throw SaegeoError.badInput("\(output) has no \(path) beside it, which --summary needs (score --shard writes it); compute that shard again, or merge without --summary")
        }
        let file = try SafetensorsFile(path: path)
        let manifest = try ShardManifest(metadata: file.metadata, source: path)
        let tensors = try OutputTensor.all(in: file)
        guard manifest.checksum == manifest.checksum(of: tensors) else {
            throw SaegeoError.badInput("\(path) fails its checksum: it was damaged or edited; compute that shard again")
        }
        guard manifest.job == shard.job, manifest.shard == shard.shard, manifest.range == shard.range,
              manifest.total == shard.total, manifest.command == .score else {
            throw SaegeoError.badInput("\(path) belongs to another shard or job than \(output); compute that shard again")
        }
        func named(_ name: String, _ dtype: OutputTensor.DType) throws -> OutputTensor {
            guard let tensor = tensors.first(where: { $0.name == name }), tensor.dtype == dtype, tensor.shape.count == 1 else {
                throw SaegeoError.badFile("\(path) has no \(dtype.rawValue) vector '\(name)'; compute that shard again")
            }
            return tensor
        }
        let proximity = try named("proximity", .f32).values(Float.self)
        var mass = FeatureMass(features: proximity.count)
        guard mass.add(features: try named("mass_feature", .i64).values(Int64.self),
                       partials: try named("mass_partial", .f64).values(Double.self)) else {
            throw SaegeoError.badFile("\(path): its activation mass does not fit its \(proximity.count) features; compute that shard again")
        }
        let sums = ShardSums(manifest: manifest, numerators: try named("sample_numerator", .f64).values(Double.self),
                             denominators: try named("sample_denominator", .f64).values(Double.self), mass: mass,
                             proximity: proximity, dead: try named("dead", .i64).values(Int64.self))
        guard sums.numerators.count == shard.range.count, sums.denominators.count == shard.range.count,
              sums.dead.allSatisfy({ $0 >= 0 && $0 < Int64(proximity.count) }) else {
            throw SaegeoError.badFile("\(path) does not hold the sums of the shard's \(shard.range.count) samples; compute that shard again")
        }
        return sums
    }

    /// The dataset summary of a score job from the sums beside its shards (in shard order, as
    /// ShardMerge hands them over): the single run's, bit for bit (the sample sums come from the
    /// same chunks, the mass is exact).
    public static func summary(ofShards shards: [(path: String, manifest: ShardManifest)], draws: Int, seed: UInt64,
                               cancellation: Cancellation = Cancellation()) throws -> DatasetSummary {
        if let other = shards.first(where: { $0.manifest.command != .score }) {
            throw SaegeoError(.usage, "--summary is the dataset summary of 'score --shard' shards, and \(other.path) is a '\(other.manifest.command.rawValue)' shard; drop --summary")
        }
        return try summary(of: shards.map { ($0.path, try read(besides: $0.path, shard: $0.manifest)) }, draws: draws, seed: seed,
                           cancellation: cancellation)
    }

    static func summary(of shards: [(path: String, sums: ShardSums)], draws: Int, seed: UInt64,
                        cancellation: Cancellation = Cancellation()) throws -> DatasetSummary {
        let first = shards[0].sums
        for (path, sums) in shards.dropFirst() where sums.proximity != first.proximity || sums.dead != first.dead {
            throw SaegeoError.badInput("\(path) was scored with other toxic proximities than \(shards[0].path), although they are shards of one job; compute the shards again with one saegeo")
        }
        var mass = FeatureMass(features: first.proximity.count)
        var numerators: [Double] = [], denominators: [Double] = []
        for (_, sums) in shards {
            mass.add(sums.mass)
            numerators += sums.numerators
            denominators += sums.denominators
        }
        // The scores as the single run computes them from the same sums (ScoreTotals).
        let scores = zip(numerators, denominators).map { $1 > 0 ? Float($0 / $1) : 0 }
        let result = DatasetScorer.Result(scores: scores, active: [], featureMass: mass, explanations: [],
                                          sampleNumerators: numerators, sampleDenominators: denominators)
        let dead = Set(first.dead.map(Int.init))
        return try DatasetSummary.compute(result: result, proximity: first.proximity, live: { !dead.contains($0) },
                                          draws: draws, seed: seed, cancellation: cancellation)
    }
}

extension ShardSums {
    /// A shard's sums from its result (in an extension, so the memberwise init stays).
    public init(manifest: ShardManifest, result: DatasetScorer.Result, proximity: [Float], dead: [Int]) {
        self.init(manifest: manifest, numerators: result.sampleNumerators, denominators: result.sampleDenominators,
                  mass: result.featureMass, proximity: proximity, dead: dead.map(Int64.init))
    }
}
