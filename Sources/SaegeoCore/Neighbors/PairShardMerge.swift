import Foundation

/// `saegeo merge` for the shards of a sharded all-pairs job (`neighbors-pairs` manifests): checks
/// them as ShardMerge does (manifest, checksum, every shard once, the pairs covered once in order)
/// and against the plan they say they ran (PairShardPlan, recomputed from the dictionary), then,
/// one tile of features at a time, combines the shards' float32 candidates of each feature and
/// ranks them exactly (ExactRanking: the single run's certificate and fallback), writing the file
/// a single all-pairs run writes. The dictionary is mapped and its pages dropped after each tile;
/// the shards are mapped and read a tile at a time: neither is ever resident whole.
public enum PairShardMerge {
    /// Manifest keys only the shards carry (not the merged file, so that it is the single run's).
    enum Key {
        static let plan = "saegeo.pairs", sae = "saegeo.pairs_sae", dictionary = "saegeo.pairs_dictionary"
        static let tensor = "saegeo.pairs_tensor", layout = "saegeo.pairs_layout"
        static let all: Set<String> = [plan, sae, dictionary, tensor, layout]
    }

    /// The shard-only manifest keys of a shard: the plan, and how to open the dictionary again.
    public static func details(plan: String, sae: String, decoderFile: String, tensor: String?, layout: String?) throws -> [String: String] {
        var details = [Key.plan: plan, Key.dictionary: try JobFingerprint.contents(of: decoderFile),
                       Key.sae: URL(fileURLWithPath: sae).standardizedFileURL.path]
        details[Key.tensor] = tensor
        details[Key.layout] = layout
        return details
    }

    /// Whether `paths` are all-pairs candidate shards (their first one says so).
    public static func isPairShards(_ paths: [String]) -> Bool {
        guard let first = paths.first, first.lowercased().hasSuffix(".safetensors") else { return false }
        return (try? ShardManifest.read(first))?.command == .neighborPairs
    }

    public struct Summary: Sendable {
        public let shards: Int
        public let features: Int
        public let exhaustiveRows: Int
        public let seconds: Double
        /// Rows ranked, candidates re-scored and exhaustive rows (NeighborResult.firstPass).
        public var firstPass = FirstPassCounts()
    }

    /// Merges; `sae` opens the dictionary from another path than the one the shards recorded.
    public static func merge(_ paths: [String], into output: String, sae: String? = nil) throws -> Summary {
        let started = DispatchTime.now()
        guard output.lowercased().hasSuffix(".safetensors") || OutputTarget.isStream(output) else {
            throw SaegeoError(.usage, "-o \(output): neighbours are written as safetensors; name the output *.safetensors")
        }
        for path in paths { try InputFile.requireExisting(path, what: "shard") }
        let shards = try ShardMerge.ordered(paths.map { ShardMerge.Shard(path: $0, manifest: try ShardManifest.read($0)) })
        let first = shards[0].manifest
        // The devices may differ, and so may the dictionary's absolute path (another mount on
        // another node): its contents' fingerprint and the job's must not.
        let shared = { (m: ShardManifest) in m.details.filter { !$0.key.hasPrefix("saegeo.device") && $0.key != Key.sae } }
        for shard in shards where shared(shard.manifest) != shared(first) {
            throw SaegeoError.badInput("\(shard.path) belongs to another job than \(shards[0].path) (its plan or options differ); merge the shards of one job")
        }
        guard let saePath = sae ?? first.details[Key.sae], let k = first.details["saegeo.k"].flatMap(Int.init), k >= 1,
              let planLabel = first.details[Key.plan], let features = first.details["saegeo.d_sae"].flatMap(Int.init) else {
            throw SaegeoError.badInput("\(shards[0].path) does not say which dictionary, k and plan it ran; merge the shards saegeo wrote")
        }
        // The path the shards recorded may be gone (moved, another machine): say how to name it.
        if sae == nil, !FileManager.default.fileExists(atPath: saePath) {
            throw SaegeoError.badInput("the shards ran on the dictionary \(saePath), which does not exist here: pass --sae with that dictionary's path")
        }
        let job = try Job("merge", inputs: paths + [saePath], outputs: [("-o", output)])
        let checkpoint = try SAECheckpoint.open(saePath, options: .init(
            format: first.details["saegeo.sae_format"].flatMap(SAECheckpoint.Format.init(rawValue:)),
            tensor: first.details[Key.tensor], layout: first.details[Key.layout].flatMap(FeatureMatrix.Layout.init(rawValue:))))
        let dictionary = try checkpoint.decoder()
        try job.confirmOutputs()
        guard try JobFingerprint.contents(of: checkpoint.decoderTensor.sourcePath) == first.details[Key.dictionary],
              dictionary.features == features else {
            throw SaegeoError.badInput("\(saePath) is not the dictionary the shards ran on (its size or contents differ); give the shards' dictionary with --sae")
        }
        let norms = FeatureNorms(of: dictionary, features: Array(0..<features))
        let liveKeys = (0..<features).filter(norms.isLive).map { Int32($0) }
        let shardCount = first.shard!.count
        let search = PairShardPlan(features: liveKeys.count, tile: PairShardPlan.tileSize(features: features, shards: shardCount),
                                   shards: shardCount)
        let candidates = PairShardSearch.candidates(k: k, keys: liveKeys.count)
        guard planLabel == "pairs tile \(search.tile) live \(search.features) candidates \(candidates)" else {
            throw SaegeoError.badInput("\(shards[0].path) ran the plan '\(planLabel)', not this dictionary's; merge the shards of one job")
        }
        var readers: [CandidateReader] = []
        for (index, shard) in shards.enumerated() {
            guard shard.manifest.range == search.range(ofShard: index), shard.manifest.total == search.pairs.count else {
                throw SaegeoError.badInput("\(shard.path) says it holds pairs \(shard.manifest.range) of \(shard.manifest.total), not shard \(index)/\(shardCount)'s \(search.range(ofShard: index)) of \(search.pairs.count); compute that shard again")
            }
            readers.append(try CandidateReader(shard: shard, plan: search, perRow: candidates, isLive: norms.isLive))
        }

        let result = SearchOutput(queries: features, k: k)
        let queries = Array(0..<features)
        if candidates > 0 {
            var ranking = ExactRanking(dictionary: dictionary, norms: norms, liveKeys: liveKeys, k: k)
            // Rows in place from the mapping where the dictionary may become resident between two
            // tiles (SearchOutput.rank drops its pages after each); else each row by pread.
            ranking.readsInPlace = dictionary.byteCount <= Int(clamping: ProcessInfo.processInfo.physicalMemory) / 2
            // Tile by tile on the host, through the scheduler loop (Ctrl-C stops it between tiles).
            let loop = SchedulerLoop(items: search.tiles, cancellation: ProcessGuard.cancellation)
            // The readers are the host's one worker: the loop hands them to the one thread that reads.
            let plan = search, exact = ranking
            // Shards of several precisions: each list certified with the largest bound.
            let bound = readers.compactMap(\.errorBound).max().map { max($0, ExactRanking.errorBound(dimension: dictionary.dimension)) }
            try loop.run(on: [readers], start: { _ in () }, item: { shardReaders, _, taken in
                let positions = plan.tileRange(taken.lowerBound)
                // The shards' lists of this tile one after another; row r's are r, r + rows, ...
                let lists = shardReaders.compactMap { $0.lists(ofTile: taken.lowerBound) }
                var sources: [Int] = [], offsets = [0]
                for row in 0..<positions.count {
                    sources += lists.indices.map { $0 * positions.count + row }
                    offsets.append(sources.count)
                }
                let cut = TileCandidates.best(ids: lists.flatMap(\.ids), scores: lists.flatMap(\.scores), width: candidates,
                                              sources: sources, offsets: offsets, perRow: candidates)
                result.rank(CandidateLists(rows: positions.count, perRow: candidates, ids: cut.ids, scores: cut.scores,
                                           errorBound: bound),
                             rows: positions.map { Int(liveKeys[$0]) }, queries: queries, ranking: exact)
                for reader in shardReaders { reader.releasePages() }
            })
        }
        var merged = ShardManifest(command: .neighbors, job: first.job, shard: nil, total: features, range: 0..<features,
                                   details: first.details.filter { !Key.all.contains($0.key) })
        for key in ["saegeo.device", "saegeo.device_name"] where first.details[key] != nil {
            merged.details[key] = Set(shards.compactMap { $0.manifest.details[key] }).sorted().joined(separator: ",")
        }
        let tensors: [OutputTensor] = [.int64("query_ids", shape: [features], queries.map(Int64.init)),
                                       .int64("indices", shape: [features, k], result.indices),
                                       .float32("scores", shape: [features, k], result.scores)]
        merged.checksum = merged.checksum(of: tensors)
        try job.write(output) { try SafetensorsWriter.write(tensors, metadata: merged.metadata, into: $0) }
        try job.commit()
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - started.uptimeNanoseconds) / 1e9
        var summary = Summary(shards: shards.count, features: features, exhaustiveRows: result.exhaustiveRows, seconds: seconds)
        summary.firstPass = result.counts
        return summary
    }
}
