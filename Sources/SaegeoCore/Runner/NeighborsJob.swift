/// `neighbors`: exact top-k nearest features by decoder cosine, of chosen queries among chosen
/// keys of one dictionary, or of one dictionary's features among a second's (`keysSAE`, with the
/// mutual nearest pairs when `mutual` names a file), whole or as one shard: of the queries, or of
/// the symmetric schedule's tile pairs for all pairs of one dictionary. The options as a value.
public struct NeighborsJob {
    public var sae: SAESource
    /// "all", or a file of feature ids.
    public var queries = "all"
    public var keys = "all"
    public var k: Int
    /// .safetensors, or .csv for a long table.
    public var output: String
    /// The second dictionary whose features are the keys.
    public var keysSAE: SAESource?
    /// With keysSAE: where the mutual nearest pairs go (.csv or .safetensors).
    public var mutual: String?
    /// The cut the mutual pairs' summary line reports a share for.
    public var minCosine: Float = 0.7
    /// "I/N" or "slurm".
    public var shard: String?

    public init(sae: SAESource, k: Int, output: String) {
        self.sae = sae
        self.k = k
        self.output = output
    }

    /// What one run found, totalled over its query blocks.
    struct Totals {
        var flops = 0.0, seconds = 0.0, exhaustive = 0, allPairs = false
        /// What a certified first pass left to the exact ranking (FirstPassText).
        var firstPass = FirstPassCounts()
    }

    /// Runs the job, writes and commits its outputs, and says what it did through `events`, line
    /// for line as `saegeo neighbors` prints it.
    public func run(on devices: JobDevices, events: JobEvents, cancellation: Cancellation) throws {
        let querySelection = FeatureSelection(argument: queries)
        let keySelection = FeatureSelection(argument: keys)
        let idFiles = [querySelection, keySelection].compactMap { if case .file(let path) = $0 { path } else { nil } }
        let mutualFormat = try mutual.map { try MutualPairsFile.format(of: $0) }
        let job = try Job("neighbors", inputs: [sae.path] + (keysSAE.map { [$0.path] } ?? []) + idFiles,
                          outputs: [("-o", output)] + (mutual.map { [("--mutual", $0)] } ?? []))
        if shard != nil { try ShardCheckpoint.checkFolder(besides: output) }
        let otherFormats = [".jsonl", ".json", ".txt", ".npy", ".npz", ".pt"]
        guard !otherFormats.contains(where: output.lowercased().hasSuffix) else {
            throw SaegeoError(.usage, "-o \(output): neighbours are written as .safetensors or as a long .csv table; name the output *.safetensors or *.csv")
        }
        let csv = output.lowercased().hasSuffix(".csv")
        if csv, shard != nil {
            throw SaegeoError(.usage, "-o \(output): a shard writes .safetensors, which 'saegeo merge' reads back; name it *.safetensors")
        }
        let shardSpec = try shard.map { try ShardSpec.parse($0) }
        if shardSpec != nil, OutputTarget.isStream(output) {
            throw SaegeoError(.usage, "-o \(output): a shard's output must be a file, which merge reads back and beside which its checkpoint lives")
        }
        let checkpoint = try sae.open()
        let dictionary = try checkpoint.decoder()
        // Neighbours across two dictionaries: the keys are B's (DESIGN.md), nil for one dictionary.
        let keysCheckpoint = try keysSAE?.open()
        let keyDictionary = try keysCheckpoint?.decoder()
        if let keyDictionary {
            try NeighborSearch.checkSameDimension(queries: dictionary, keys: keyDictionary,
                                                  names: ("--sae \(sae.path)", "--keys-sae \(keysSAE!.path)"))
        }
        let allQueries = try querySelection.resolve(features: dictionary.features, role: "queries")
        // Sharded all pairs divides tile pairs instead, and checks its own count (runPairShard).
        if let shardSpec, keyDictionary != nil || querySelection != .all || keySelection != .all {
            try shardSpec.requireWork(items: allQueries.count, unit: "queries")
        }
        let queryIds = shardSpec.map { Array(allQueries[$0.range(of: allQueries.count)]) } ?? allQueries
        let keyIds = try keySelection.resolve(features: (keyDictionary ?? dictionary).features,
                                              role: keyDictionary == nil ? "keys" : "keys (of --keys-sae)")
        try NeighborSearch.validate(k: k, queries: queryIds.count, keys: keyIds.count)
        try job.confirmOutputs()
        let engines = try devices.engines()
        let budget = try devices.budget()

        // The job: inputs and options that every shard of it shares (not the device).
        // B's file and path join them for two dictionaries, so that no shard or checkpoint of
        // one pair of dictionaries is taken for another's.
        let fingerprint = try JobFingerprint.of(
            files: checkpoint.files + (keysCheckpoint?.files ?? []) + idFiles,
            options: ["neighbors", sae.path, querySelection.label, keySelection.label, String(k), String(allQueries.count)]
                + (keysSAE.map { ["keys-sae", $0.path] } ?? []))
        var details = [
            "saegeo.sae": sae.path,
            "saegeo.sae_format": checkpoint.format.rawValue,
            "saegeo.d_sae": String(dictionary.features),
            "saegeo.d_model": String(dictionary.dimension),
            "saegeo.dtype": dictionary.scalarType.rawValue,
            "saegeo.queries": querySelection.label,
            "saegeo.keys": keySelection.label,
            "saegeo.k": String(k),
            "saegeo.device": engines.map(\.device.id).joined(separator: ","),
            "saegeo.device_name": engines.map(\.device.name).joined(separator: ","),
        ]
        if let keysCheckpoint, let keyDictionary {
            details["saegeo.keys_sae"] = keysSAE!.path
            details["saegeo.keys_sae_format"] = keysCheckpoint.format.rawValue
            details["saegeo.keys_d_sae"] = String(keyDictionary.features)
            details["saegeo.keys_dtype"] = keyDictionary.scalarType.rawValue
        }
        // All pairs of one dictionary, sharded: the symmetric schedule's tile pairs are divided
        // among the shards (each writes candidates; merge ranks them), not the queries.
        if let shardSpec, keyDictionary == nil, querySelection == .all, keySelection == .all {
            try runPairShard(shardSpec, dictionary: dictionary, checkpoint: checkpoint, engines: engines, budget: budget,
                             fingerprint: fingerprint, details: details, job: job, events: events, cancellation: cancellation)
            return
        }
        let search = QuerySearch(job: self, dictionary: dictionary, keyDictionary: keyDictionary, keyIds: keyIds,
                                 engines: engines, budget: budget, events: events, cancellation: cancellation)
        try search.run(queryIds, allQueries: allQueries.count, shard: shardSpec, csv: csv, mutualFormat: mutualFormat,
                       fingerprint: fingerprint, details: details, job: job)
    }
}
