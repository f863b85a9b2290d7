/// SaegeoCore's workloads in memory: arrays in, arrays out, no files written and no checkpoint
/// (what a second front end, a Python package, calls in process). The SAE is opened with
/// `SAESource.open()`; the CLI's file jobs (ScoreJob, NeighborsJob, ContrastJob) compute the
/// very same results. Every call observes progress through `events`, stops on `cancellation`,
/// and re-plans once with half the budget when a device runs out of memory (JobDevices).
public enum InMemoryJobs {
    /// `rows` x `dimension` float32 values, row by row, as a matrix the workloads read (copied once).
    public static func matrix(_ values: [Float], rows: Int, dimension: Int) throws -> FeatureMatrix {
        guard rows >= 0, dimension > 0, values.count == rows * dimension else {
            throw SaegeoError(.badInput, "a matrix of \(rows) x \(dimension) needs \(rows * dimension) values, and \(values.count) were given")
        }
        let file = values.withUnsafeBytes { MappedFile(copying: $0, path: "(array of \(rows) x \(dimension))") }
        return FeatureMatrix(file: file, byteOffset: 0, features: rows, dimension: dimension, scalarType: .f32, layout: .rows)
    }

    /// Activation rows grouped into samples: sample i is rows `sampleStarts[i]..<sampleStarts[i + 1]`
    /// (nil: every row its own sample).
    public static func activations(_ rows: FeatureMatrix, sampleStarts: [Int]? = nil) throws -> ActivationsFile {
        let starts = sampleStarts ?? Array(0...rows.features)
        guard starts.first == 0, starts.last == rows.features, zip(starts, starts.dropFirst()).allSatisfy({ $0 <= $1 }) else {
            throw SaegeoError(.badInput, "sample starts must rise from 0 to the \(rows.features) rows")
        }
        return ActivationsFile(path: rows.sourcePath, rows: rows, sampleStarts: starts)
    }

    /// The exact top-k neighbours of `queries` among `keys` (nil: all features) of `dictionary`,
    /// or among `keyDictionary`'s features when given.
    public static func neighbors(of dictionary: FeatureMatrix, queries: [Int]? = nil, keys: [Int]? = nil, k: Int,
                                 keyDictionary: FeatureMatrix? = nil, devices: JobDevices, events: JobEvents = .silent,
                                 cancellation: Cancellation = Cancellation()) throws -> NeighborResult {
        if let keyDictionary {
            try NeighborSearch.checkSameDimension(queries: dictionary, keys: keyDictionary, names: ("the queries' dictionary", "the keys' dictionary"))
        }
        let queryIds = queries ?? Array(0..<dictionary.features)
        let keyIds = keys ?? Array(0..<(keyDictionary ?? dictionary).features)
        try NeighborSearch.validate(k: k, queries: queryIds.count, keys: keyIds.count)
        let engines = try devices.engines()
        let progress = events.progress("neighbors:")
        return try JobDevices.replanningOnce(budget: try devices.budget(), engines: engines, events: events) { budget in
            let search = try keyDictionary.map {
                try NeighborSearch(dictionary: dictionary, queries: queryIds, keyDictionary: $0, keys: keyIds, k: k, memoryBudget: budget)
            } ?? NeighborSearch(dictionary: dictionary, queries: queryIds, keys: keyIds, k: k, memoryBudget: budget)
            return try search.run(on: engines, cancellation: cancellation, progress: progress)
        }
    }

    /// Every sample's score against the toxic features (DESIGN.md: sample score), with its
    /// count of active features and the sums the dataset summary takes.
    public static func score(sae: SAECheckpoint, toxic: [Int], activations: ActivationsFile, devices: JobDevices,
                             events: JobEvents = .silent, cancellation: Cancellation = Cancellation()) throws -> DatasetScorer.Result {
        let encoder = try SAEEncoder(checkpoint: sae)
        let decoder = try sae.decoder()
        let engines = try devices.engines()
        let budget = try devices.budget()
        let proximity = try ToxicProximity.compute(decoder: decoder, toxic: toxic, engines: engines, memoryBudget: budget,
                                                   cancellation: cancellation)
        var scorer = try DatasetScorer(encoder: encoder, proximity: proximity.proximity, activations: activations)
        let progress = events.progress("score:")
        return try JobDevices.replanningOnce(budget: budget.map { $0 / 2 }, engines: engines, events: events) { budget in
            try scorer.plan(for: engines, memoryBudget: budget)
            return try scorer.run(on: engines, cancellation: cancellation, progress: progress)
        }
    }

    /// Every feature of the SAE, ranked by how much more it fires on `a` than on `b`
    /// (DESIGN.md: contrast; paired when both hold the same tokens through two models).
    public static func contrast(sae: SAECheckpoint, a: ActivationsFile, b: ActivationsFile, paired: Bool = false,
                                devices: JobDevices, events: JobEvents = .silent,
                                cancellation: Cancellation = Cancellation()) throws -> [FeatureContrast] {
        let encoder = try SAEEncoder(checkpoint: sae)
        var contrast = try DatasetContrast(encoder: encoder, a: a, b: b, paired: paired)
        let engines = try devices.engines()
        let bars = ["A": events.progress("contrast A:"), "B": events.progress("contrast B:")]
        let result = try JobDevices.replanningOnce(budget: try devices.budget().map { $0 / 2 }, engines: engines, events: events) { budget in
            try contrast.plan(for: engines, memoryBudget: budget)
            return try contrast.run(on: engines, cancellation: cancellation) { name, report in bars[String(name.prefix(1))]?(report) }
        }
        let decoder = try sae.decoder()
        let norms = FeatureNorms(of: decoder, features: Array(0..<decoder.features))
        return FeatureContrast.ranked(a: result.a, b: result.b, differences: result.differences, dead: { !norms.isLive($0) })
    }
}
