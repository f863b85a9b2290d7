import Foundation

/// One shard of a sharded all-pairs job: its share of the single run's tile pairs (PairShardPlan),
/// computed in blocks of pairs on one or several engines (PairTilePass). A block's candidates (rows and columns
/// of every tile it touched) are cut to one list per row (TileCandidates) and saved as a
/// checkpoint block; the shard's output is its blocks' lists combined the same way. `merge`
/// (PairShardMerge) then combines the shards' lists per feature and ranks them exactly, as the
/// single run ranks its own.
public final class PairShardSearch: Sendable {
    public let dictionary: FeatureMatrix
    public let k: Int
    public let shard: ShardSpec
    public let memoryBudget: Int?
    let norms: FeatureNorms
    /// Live features in id order: the positions the plan tiles.
    let liveKeys: [Int32]
    public let plan: PairShardPlan
    /// Candidates per row, as the single run keeps them.
    public let candidates: Int
    private let counter: ProgressCounter
    /// The best lists so far of every tile this shard's blocks have touched, row by row best first
    /// (`absorb`): each block starts its rows from them, as warm as the single run's.
    private let warm = Locked<[Int: (ids: [Int32], scores: [Float])]>([:])
    /// The error bound of every list absorbed so far (nil while all were float32's): the seeds and
    /// the shard's output carry it, so that lists of a bfloat16 block resumed by a float32 run (or
    /// the reverse) are certified with the larger bound.
    private let warmBound = Locked<Double?>(nil)

    public init(dictionary: FeatureMatrix, k: Int, shard: ShardSpec, memoryBudget: Int?,
                progress: (@Sendable (ProgressReport) -> Void)? = nil) {
        self.dictionary = dictionary
        self.k = k
        self.shard = shard
        self.memoryBudget = memoryBudget
        norms = FeatureNorms(of: dictionary, features: Array(0..<dictionary.features))
        liveKeys = (0..<dictionary.features).filter(norms.isLive).map { Int32($0) }
        plan = PairShardPlan(features: liveKeys.count, tile: PairShardPlan.tileSize(features: dictionary.features, shards: shard.count),
                             shards: shard.count)
        candidates = Self.candidates(k: k, keys: liveKeys.count)
        let range = plan.range(ofShard: shard.index)
        counter = ProgressCounter(total: range.count, report: progress)
    }

    /// Candidates per feature in every shard of a job: always as many as a certified first pass
    /// needs, whatever the shard computes in. The shards of one job may run on other nodes and in
    /// other precisions (`auto` is decided per machine), and `merge` needs one count for all of
    /// them; float32's shorter lists would leave a bfloat16 shard's rows uncertified (all pairs of
    /// 16384 x 2304 in two bfloat16 shards of float32's 48 candidates: 14948 rows ranked over every
    /// key at the merge, 236 s instead of 0.5 s).
    public static func candidates(k: Int, keys: Int) -> Int {
        NeighborSearch.candidates(k: k, keys: keys, firstPass: true)
    }

    /// This shard's pairs (indices into `plan.pairs`).
    public var pairs: Range<Int> { plan.range(ofShard: shard.index) }

    /// Pairs per checkpoint block: about 2% of the shard, at least 4. A block starts its rows
    /// from the lists the shard's earlier blocks left (`absorb`): a list that starts empty takes
    /// far more of the offers a tile makes than one already holding good candidates, and blocks
    /// that started empty made 4 shards' sum 1.6x a single run at 16384 x 512 (docs/testing.md).
    public var blockSize: Int { ShardCheckpoint.blockSize(items: pairs.count, minimum: 4) }

    /// The shard's pairs in block order: in bands of about sqrt(block size) column tiles, row by
    /// row within a band, so that a block spans several rows and several columns and each tile's
    /// lists see several pairs of it (a block of one row's pairs would meet every column tile
    /// once, with empty lists). Blocks are consecutive runs of this order; the same on every run.
    public var blockOrder: [Int] {
        let band = max(1, Int(Double(blockSize).squareRoot().rounded(.up)))
        return pairs.sorted { a, b in
            let p = plan.pairs[a], q = plan.pairs[b]
            return (p.column / band, p.row, p.column) < (q.column / band, q.row, q.column)
        }
    }

    /// Float32 arithmetic done so far (2 flops per multiply-add, as the single run counts).
    public var flopsDone: Double { counter.flopsDone }

    /// What the job's manifest and checkpoint say of the plan, so that no shard, block or merge of
    /// another tiling or liveness is mixed in.
    public var planLabel: String { "pairs tile \(plan.tile) live \(plan.features) candidates \(candidates)" }

    /// Checks that every engine can hold the job's tile within its budget (the tile is the job's,
    /// not the device's choice).
    public func checkFits(_ engines: [ComputeEngine]) throws {
        guard plan.features > 0 else { return }
        let problem = TilePlanner.Problem(queries: plan.features, keys: plan.features, dimension: dictionary.dimension,
                                          k: k, candidates: candidates, allPairs: true)
        _ = try TilePlanner.plan(problem, devices: engines.map { NeighborSearch.plannerDevice($0, budget: memoryBudget) },
                                 fixedTile: plan.tile)
    }

    /// The candidates of the pairs `block` (indices into `plan.pairs`: a run of `blockOrder`), for
    /// every row of every tile they touch.
    public func compute(_ block: [Int], on engines: [ComputeEngine], cancellation: Cancellation) throws -> [OutputTensor] {
        let pairs = block.map { self.plan.pairs[$0] }
        let touched = Array(Set(pairs.flatMap { [$0.row, $0.column] })).sorted()
        // The engines keep candidates for the touched tiles only, packed in tile order.
        var offsets: [Int: Int] = [:]
        var rows = 0
        for tile in touched {
            offsets[tile] = rows
            rows += plan.tileRange(tile).count
        }
        guard rows > 0, candidates > 0 else {
            return TileCandidates(plan: plan, perRow: candidates, tiles: [], ids: [], scores: []).tensors
        }
        let seed = self.seed(touched, rows: rows)
        // Row by row, each row's pairs in block order: the order decides which offers the lists keep.
        let groups = Dictionary(grouping: pairs, by: \.row).sorted { $0.key < $1.key }
            .map { PairTilePass.Group(row: $0.key, columns: $0.value.map(\.column)) }
        let pass = PairTilePass(dictionary: dictionary, norms: norms, liveKeys: liveKeys,
                                tiles: (0..<plan.tiles).map(plan.tileRange), offsets: offsets, groups: groups,
                                features: rows, candidates: candidates, seed: seed)
        let found = try pass.run(on: engines, cancellation: cancellation, progress: counter)
        let lists = TileCandidates.oneList(found, perRow: candidates)
        return TileCandidates(plan: plan, perRow: candidates, tiles: touched, ids: lists.ids, scores: lists.scores,
                              errorBound: found.errorBound).tensors
    }

    /// The lists the touched tiles' rows start from, packed in tile order; nil when no earlier
    /// block touched any of them.
    private func seed(_ touched: [Int], rows: Int) -> CandidateLists? {
        let known = warm.withLock { state in touched.map { state[$0] } }
        guard known.contains(where: { $0 != nil }) else { return nil }
        var ids: [Int32] = [], scores: [Float] = []
        ids.reserveCapacity(rows * candidates)
        scores.reserveCapacity(rows * candidates)
        for (tile, list) in zip(touched, known) {
            let slots = plan.tileRange(tile).count * candidates
            ids += list?.ids ?? [Int32](repeating: -1, count: slots)
            scores += list?.scores ?? [Float](repeating: -.infinity, count: slots)
        }
        return CandidateLists(rows: rows, perRow: candidates, ids: ids, scores: scores, errorBound: warmBound.current)
    }

    /// Takes a finished block's lists (computed, or read back from the checkpoint) into the lists
    /// later blocks start from. Blocks are absorbed in block order, so that a resumed run seeds its
    /// blocks as the uninterrupted run did. (Seeds change only which offers a block keeps, never
    /// the shard's output, the best of everything its blocks kept: an offer a seed pushed out of a
    /// block is beaten by as many keys that stay in the output.)
    public func absorb(_ tensors: [OutputTensor]) throws {
        var lists = try TileCandidates(tensors: tensors, plan: plan, perRow: candidates, features: dictionary.features)
        let blockTiles = lists.tiles, dimension = dictionary.dimension
        warmBound.withLock { $0 = CandidateLists.combinedBound($0, lists.errorBound, dimension: dimension) }
        warm.withLock { state in
            // The block's lists and the known ones of the same tiles, cut to one list per tile
            // (`reduced` sorts every row, best first, as a seed must be).
            for tile in blockTiles {
                guard let known = state[tile] else { continue }
                lists.tiles.append(tile)
                lists.ids += known.ids
                lists.scores += known.scores
            }
            let best = lists.reduced()
            var first = 0
            for tile in best.tiles {
                let slots = plan.tileRange(tile).count * candidates
                state[tile] = (Array(best.ids[first..<(first + slots)]), Array(best.scores[first..<(first + slots)]))
                first += slots
            }
        }
    }

    /// Whether a saved block's tensors are this block's: the tiles its pairs touch, in order.
    public func holds(_ tensors: [OutputTensor], block: [Int]) -> Bool {
        guard let saved = try? TileCandidates(tensors: tensors, plan: plan, perRow: candidates, features: dictionary.features) else {
            return false
        }
        let touched = Array(Set(block.flatMap { [plan.pairs[$0].row, plan.pairs[$0].column] })).sorted()
        return saved.tiles == (candidates > 0 ? touched : [])
    }

    /// The shard's output tensors from its blocks' tensors joined (all but their bounds, which
    /// `absorb` took: `joins`): one list per row of every tile the shard touched.
    public func output(joined tensors: [OutputTensor]) throws -> [OutputTensor] {
        var lists = try TileCandidates(tensors: tensors, plan: plan, perRow: candidates, features: dictionary.features)
        lists.errorBound = warmBound.current
        return lists.reduced().tensors
    }

    /// Which of a block's tensors are joined into the output: not the bound (a block of another
    /// precision may lack it; `absorb` keeps the largest).
    public static func joins(_ tensor: OutputTensor) -> Bool { tensor.name != TileCandidates.boundTensor }
}
