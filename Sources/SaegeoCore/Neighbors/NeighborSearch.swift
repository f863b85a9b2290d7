import Foundation

/// The answer to a neighbour search, per the Definitions: for each query its k nearest keys by
/// cosine, self excluded, descending, ties to the lower id, padded with -1 / -inf.
public struct NeighborResult: Sendable {
    public let queryIds: [Int64]
    public let k: Int
    public let indices: [Int64]
    public let scores: [Float]
    /// Rows the certificate could not vouch for, computed exactly over every key instead.
    public let exhaustiveRows: Int
    /// Float32 multiply-adds of the similarity tiles, counted as 2 flops each.
    public let flops: Double
    public let seconds: Double
    /// Whether the symmetric all-pairs schedule ran (each pair of tiles once).
    public let allPairs: Bool
    /// Query rows ranked, candidates re-scored in float64 and exhaustive rows (how tight the
    /// candidates' bound was, for float32 and bfloat16 first passes alike).
    public var firstPass = FirstPassCounts()
}

/// Exact top-k neighbours of a query set among a key set, on one or several engines. The keys are
/// features of the queries' dictionary, or of another one of the same d_model (`keyDictionary`:
/// neighbours across two dictionaries, DESIGN.md), where no query is excluded as itself.
public struct NeighborSearch: Sendable {
    /// The queries' dictionary (and the keys', unless `keyDictionary` is set).
    public let dictionary: FeatureMatrix
    public let queries: [Int]
    public let keys: [Int]
    public let k: Int
    /// The keys' dictionary when it is not the queries'.
    public let keyDictionary: FeatureMatrix?
    /// The most any one device (and the host, for the CPU engine) may use; nil: the device's memory.
    public var memoryBudget: Int?
    /// The dictionary's norms when already computed (for at least the queries, and the keys of one
    /// dictionary): several searches over one dictionary compute them once.
    public var norms: FeatureNorms?
    /// The key dictionary's norms when already computed (for at least the keys); only with `keyDictionary`.
    public var keyNorms: FeatureNorms?

    public init(dictionary: FeatureMatrix, queries: [Int], keys: [Int], k: Int, memoryBudget: Int? = nil) throws {
        try Self.validate(k: k, queries: queries.count, keys: keys.count)
        self.dictionary = dictionary
        self.queries = queries
        self.keys = keys
        self.k = k
        self.keyDictionary = nil
        self.memoryBudget = memoryBudget
    }

    /// Queries of `dictionary` among keys of `keyDictionary`; refuses dictionaries of different d_model.
    public init(dictionary: FeatureMatrix, queries: [Int], keyDictionary: FeatureMatrix, keys: [Int], k: Int,
                memoryBudget: Int? = nil) throws {
        try Self.validate(k: k, queries: queries.count, keys: keys.count)
        try Self.checkSameDimension(queries: dictionary, keys: keyDictionary)
        self.dictionary = dictionary
        self.queries = queries
        self.keys = keys
        self.k = k
        self.keyDictionary = keyDictionary
        self.memoryBudget = memoryBudget
    }

    /// Cosines need one space: both dictionaries' directions must have the same length.
    public static func checkSameDimension(queries: FeatureMatrix, keys: FeatureMatrix,
                                          names: (queries: String, keys: String)? = nil) throws {
        guard queries.dimension != keys.dimension else { return }
        let (a, b) = names ?? (queries.sourcePath, keys.sourcePath)
        throw SaegeoError(.usage, "\(a) has d_model \(queries.dimension) and \(b) has d_model \(keys.dimension): neighbours across two dictionaries need the same d_model (SAEs of the same model and site)")
    }

    /// Refuses a k whose result cannot fit in memory, before anything is allocated (k comes from
    /// the user: no arithmetic on it may trap). A k beyond the keys is allowed: those slots hold
    /// -1 / -inf (DESIGN.md).
    public static func validate(k: Int, queries: Int, keys: Int,
                                memory: Int = Int(clamping: ProcessInfo.processInfo.physicalMemory)) throws {
        guard k >= 1 else { throw SaegeoError(.usage, "-k must be at least 1 (got \(k))") }
        // indices (8 bytes) and scores (4) per slot, twice over while the result is assembled.
        let (slots, overflow) = max(queries, 1).multipliedReportingOverflow(by: k)
        guard !overflow, slots <= memory / 2 / 24 else {
            let needed = overflow ? "more than \(ByteCount.format(Int.max))" : ByteCount.format(slots.multipliedReportingOverflow(by: 24).partialValue)
            throw SaegeoError(.usage, "-k \(k) for \(queries) queries needs \(needed) for the results, more than half of this machine's \(ByteCount.format(memory)) (the dictionary has \(keys) keys, so at most \(keys) neighbours exist): use a smaller -k, fewer --queries or --shard")
        }
    }

    /// Candidates kept per query by the float32 pass: a few more than k, so that the exact
    /// re-scoring rarely finds the certificate short (each short row costs a pass over every key).
    public static func candidates(k: Int, keys: Int) -> Int {
        min(k + max(16, k / 2), keys)
    }

    /// Candidates per query when a certified low-precision first pass chooses them (`firstPass`):
    /// its bound (~3e-3 for bfloat16 unit rows, BFloat16Bound) is 20 times float32's, and the
    /// certificate needs the k-th exact cosine above the lowest kept score plus the bound, so the
    /// lists reach further down (on 16384 random unit rows of d 2304, ranks 32 to 96 span about
    /// 8e-3 of cosine, ranks 32 to 48 only 3e-3); at k 100 of 65536, k + k left 26 of 1024 rows
    /// short, k + 2k none. Short rows still fall back to every key.
    public static func candidates(k: Int, keys: Int, firstPass: Bool) -> Int {
        firstPass ? min(k + max(64, 2 * k), keys) : candidates(k: k, keys: keys)
    }

    /// The planner's view of this search, before any dead feature is known.
    public var problem: TilePlanner.Problem {
        Self.problem(queries: queries, keys: keys, dimension: dictionary.dimension, k: k, oneDictionary: keyDictionary == nil)
    }

    /// The planner's view of a search; all pairs when queries and keys are one set of one
    /// dictionary, each query once.
    /// `firstPass`: a device chooses candidates with a certified low-precision first pass (more per query).
    public static func problem(queries: [Int], keys: [Int], dimension: Int, k: Int,
                               oneDictionary: Bool = true, firstPass: Bool = false) -> TilePlanner.Problem {
        let keySet = Set(keys)
        let allPairs = oneDictionary && queries.count == keySet.count && Set(queries) == keySet
        return TilePlanner.Problem(queries: queries.count, keys: keySet.count, dimension: dimension, k: k,
                                   candidates: candidates(k: k, keys: keySet.count, firstPass: firstPass), allPairs: allPairs)
    }

    static func plannerDevice(_ engine: ComputeEngine, budget: Int?) -> TilePlanner.Device {
        TilePlanner.Device(id: engine.device.id, capabilities: engine.capabilities,
                           deviceMemory: engine.device.globalMemoryBytes, budget: budget)
    }

    public func run(on engine: ComputeEngine) throws -> NeighborResult {
        try run(on: [engine])
    }

    public func run(on engines: [ComputeEngine], cancellation: Cancellation = Cancellation(),
                    progress: (@Sendable (ProgressReport) -> Void)? = nil) throws -> NeighborResult {
        precondition(!engines.isEmpty, "a search needs an engine")
        let started = DispatchTime.now()
        let keySource = keyDictionary ?? dictionary
        let norms = self.norms ?? FeatureNorms(of: dictionary, features: keyDictionary == nil ? queries + keys : queries)
        let keyNorms = keyDictionary == nil ? norms : (self.keyNorms ?? FeatureNorms(of: keySource, features: keys))
        let liveKeys = Array(Set(keys.filter(keyNorms.isLive))).sorted().map { Int32($0) }
        let liveQueryRows = queries.indices.filter { norms.isLive(queries[$0]) }
        var problem = self.problem
        problem.keys = liveKeys.count
        problem.queries = liveQueryRows.count
        problem.candidates = Self.candidates(k: k, keys: liveKeys.count,
                                             firstPass: engines.contains { $0.capabilities.firstPassValueBytes > 0 })
        let output = SearchOutput(queries: queries.count, k: k)
        var flops = 0.0
        if problem.candidates > 0, !liveQueryRows.isEmpty {
            let plan = try TilePlanner.plan(problem, devices: engines.map { Self.plannerDevice($0, budget: memoryBudget) })
            var ranking = ExactRanking(dictionary: keySource, norms: keyNorms, liveKeys: liveKeys, k: k)
            if keyDictionary != nil { ranking.querySide = (dictionary, norms) }
            // The ranking reads key rows in place only when the whole key dictionary may become
            // resident beside the plan. The queries' dictionary (when another) is read one query
            // block at a time, staged as the plan counts it, and its pages dropped after each block.
            let planned = plan.devices.map { $0.deviceBytes + $0.stagingBytes }.max() ?? 0
            let memory = engines.map { Self.plannerDevice($0, budget: memoryBudget).memoryBytes }.min() ?? 0
            ranking.readsInPlace = keySource.byteCount + planned <= memory
            // The ranking's batches beside the plan: a sixteenth of the memory, 1 to 64 MiB.
            ranking.batchBytes = min(64 << 20, max(1 << 20, memory / 16))
            let context = SchedulerContext(dictionary: keySource, norms: keyNorms, queryDictionary: dictionary,
                                           queryNorms: norms, plan: plan, ranking: ranking, queries: queries,
                                           output: output, cancellation: Cancellation(parent: cancellation))
            if problem.allPairs {
                flops = try AllPairsScheduler(context: context, liveKeys: liveKeys, queryRows: liveQueryRows)
                    .run(on: engines, progress: progress)
            } else {
                flops = try QueryBlockScheduler(context: context, liveKeys: liveKeys, queryRows: liveQueryRows)
                    .run(on: engines, progress: progress)
            }
        }
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - started.uptimeNanoseconds) / 1e9
        var result = NeighborResult(queryIds: queries.map(Int64.init), k: k, indices: output.indices, scores: output.scores,
                                    exhaustiveRows: output.exhaustiveRows, flops: flops, seconds: seconds,
                                    allPairs: problem.allPairs)
        result.firstPass = output.counts
        return result
    }
}

/// What every scheduler needs.
struct SchedulerContext: Sendable {
    /// The keys' dictionary and norms.
    let dictionary: FeatureMatrix
    let norms: FeatureNorms
    /// The queries' (the keys' but for neighbours across two dictionaries).
    let queryDictionary: FeatureMatrix
    let queryNorms: FeatureNorms
    let plan: TilePlanner.Plan
    let ranking: ExactRanking
    let queries: [Int]
    let output: SearchOutput
    let cancellation: Cancellation

    /// Queries and keys come from two dictionaries: query ids are no key's.
    var twoDictionaries: Bool { ranking.querySide != nil }
}
