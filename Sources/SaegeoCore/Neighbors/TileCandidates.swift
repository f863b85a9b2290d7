import Foundation

/// The float32 candidates of the rows of some tiles of a sharded all-pairs job (PairShardPlan):
/// for each row of each listed tile, up to `perRow` keys with their float32 scores, as the single
/// run's candidate lists hold them. What a checkpoint block and a shard save, and what `merge`
/// combines before the exact ranking. Rows are the live features in the tiles' order; a tile may
/// be listed more than once (blocks joined) until `reduced()`.
struct TileCandidates {
    let plan: PairShardPlan
    let perRow: Int
    var tiles: [Int]
    var ids: [Int32]
    var scores: [Float]
    /// The scores' error bound when a certified first pass chose them (CandidateLists.errorBound),
    /// saved as one more tensor; nil (no tensor: the files float32 runs have always written) for float32.
    var errorBound: Double?

    static let tileTensor = "tiles", idTensor = "candidate_ids", scoreTensor = "candidate_scores"
    static let boundTensor = "candidate_error_bound"

    init(plan: PairShardPlan, perRow: Int, tiles: [Int], ids: [Int32], scores: [Float], errorBound: Double? = nil) {
        self.plan = plan
        self.perRow = perRow
        self.tiles = tiles
        self.ids = ids
        self.scores = scores
        self.errorBound = errorBound
    }

    var rows: Int { tiles.reduce(0) { $0 + plan.tileRange($1).count } }

    /// The best `perRow` of several disjoint lists of one row (each a list kept over its own keys),
    /// by float32 score descending, then id. The exact ranking's certificate survives the cut: a
    /// full input list holds perRow keys scoring at least its lowest, so the lowest kept here is
    /// at least every full list's lowest, and any key left out (here or by a list) scores at most
    /// that. When fewer than perRow keys are offered, no list was full: each saw all of its keys.
    static func best(of lists: [(ids: ArraySlice<Int32>, scores: ArraySlice<Float>)], perRow: Int,
                     ids: inout [Int32], scores: inout [Float]) {
        let width = lists.map(\.ids.count).max() ?? 0
        var flatIds: [Int32] = [], flatScores: [Float] = []
        for list in lists {
            flatIds += list.ids + [Int32](repeating: -1, count: width - list.ids.count)
            flatScores += list.scores + [Float](repeating: -.infinity, count: width - list.scores.count)
        }
        let cut = best(ids: flatIds, scores: flatScores, width: width, sources: Array(lists.indices), offsets: [0, lists.count],
                       perRow: perRow)
        ids += cut.ids
        scores += cut.scores
    }

    /// Row r of the result is the best `perRow` distinct entries of the input rows
    /// `sources[offsets[r]..<offsets[r + 1]]` (input rows `width` slots long, in `ids` and `scores`;
    /// an entry, score and id, in several of them counts once); on all cores. Each entry is sorted as
    /// one integer: the score's bits made order-preserving and flipped (descending), then the id.
    static func best(ids: [Int32], scores: [Float], width: Int, sources: [Int], offsets: [Int],
                     perRow: Int) -> (ids: [Int32], scores: [Float]) {
        let rows = offsets.count - 1
        var outIds = [Int32](repeating: -1, count: rows * perRow)
        var outScores = [Float](repeating: -.infinity, count: rows * perRow)
        guard rows > 0, perRow > 0 else { return (outIds, outScores) }
        ids.withUnsafeBufferPointer { inIds in
            scores.withUnsafeBufferPointer { inScores in
                outIds.withUnsafeMutableBufferPointer { keptIds in
                    outScores.withUnsafeMutableBufferPointer { keptScores in
                        let a = UnsafeSendablePointer(inIds.baseAddress!), b = UnsafeSendablePointer(inScores.baseAddress!)
                        let c = UnsafeSendablePointer(keptIds.baseAddress!), d = UnsafeSendablePointer(keptScores.baseAddress!)
                        parallelChunks(rows) { range in
                            var keys: [UInt64] = []
                            for row in range {
                                keys.removeAll(keepingCapacity: true)
                                for source in sources[offsets[row]..<offsets[row + 1]] {
                                    for slot in (source * width)..<((source + 1) * width) where a.pointer[slot] >= 0 {
                                        keys.append(key(score: b.pointer[slot], id: a.pointer[slot]))
                                    }
                                }
                                keys.sort()
                                // An entry listed twice (a seeded block repeats its seed's entries, bit for
                                // bit) sorts next to itself and is kept once.
                                var slot = 0, previous: UInt64?
                                for key in keys where slot < perRow && key != previous {
                                    c.pointer[row * perRow + slot] = Int32(truncatingIfNeeded: key & 0xffff_ffff)
                                    d.pointer[row * perRow + slot] = score(of: key)
                                    slot += 1
                                    previous = key
                                }
                            }
                        }
                    }
                }
            }
        }
        return (outIds, outScores)
    }

    /// Ascending keys order entries by score descending, then id ascending (ids are >= 0).
    static func key(score: Float, id: Int32) -> UInt64 {
        let bits = score.bitPattern
        let ordered = bits & 0x8000_0000 != 0 ? ~bits : bits | 0x8000_0000
        return UInt64(~ordered) << 32 | UInt64(UInt32(bitPattern: id))
    }

    static func score(of key: UInt64) -> Float {
        let ordered = ~UInt32(truncatingIfNeeded: key >> 32)
        return Float(bitPattern: ordered & 0x8000_0000 != 0 ? ordered & 0x7fff_ffff : ~ordered)
    }

    /// Candidate lists of `rows` rows side by side (`segments` lists per row, one per device),
    /// each row cut to its best perRow. One device's lists are kept as they are.
    static func oneList(_ lists: CandidateLists, perRow: Int) -> (ids: [Int32], scores: [Float]) {
        if lists.perRow == perRow { return (lists.ids, lists.scores) }
        return best(ids: lists.ids, scores: lists.scores, width: lists.perRow, sources: Array(0..<lists.rows),
                    offsets: Array(0...lists.rows), perRow: perRow)
    }

    /// One list per row of each distinct tile, the tiles in order, each row cut to its best and
    /// sorted best first (a tile listed once too).
    func reduced() -> TileCandidates {
        var starts: [Int: [Int]] = [:]
        var row = 0
        for tile in tiles {
            starts[tile, default: []].append(row)
            row += plan.tileRange(tile).count
        }
        let order = starts.keys.sorted()
        var sources: [Int] = [], offsets: [Int] = [0]
        for tile in order {
            for r in 0..<plan.tileRange(tile).count {
                sources += starts[tile]!.map { $0 + r }
                offsets.append(sources.count)
            }
        }
        let cut = Self.best(ids: ids, scores: scores, width: perRow, sources: sources, offsets: offsets, perRow: perRow)
        return TileCandidates(plan: plan, perRow: perRow, tiles: order, ids: cut.ids, scores: cut.scores, errorBound: errorBound)
    }

    var tensors: [OutputTensor] {
        [.int64(Self.tileTensor, shape: [tiles.count], tiles.map(Int64.init)),
         .int64(Self.idTensor, shape: [rows, perRow], ids.map(Int64.init)),
         .float32(Self.scoreTensor, shape: [rows, perRow], scores)]
            + (errorBound.map { [.float64(Self.boundTensor, shape: [1], [$0])] } ?? [])
    }

    /// The bound a saved tensor states: nil without one (float32 lists), else the largest of its
    /// values (blocks joined), each a finite positive number.
    static func errorBound(of tensor: OutputTensor?) throws -> Double? {
        guard let tensor else { return nil }
        let values = tensor.dtype == .f64 && tensor.shape.count == 1 ? tensor.values(Double.self) : []
        guard !values.isEmpty, values.allSatisfy({ $0.isFinite && $0 > 0 }) else {
            throw SaegeoError.badFile("the candidates' error bound is not a positive number")
        }
        return values.max()
    }

    /// Reads tensors back (a checkpoint block, or shard's blocks joined), checking that they are
    /// what `tensors` writes for this plan: tiles that exist, rows that match them, ids of live
    /// positions' features or -1.
    init(tensors: [OutputTensor], plan: PairShardPlan, perRow: Int, features: Int) throws {
        func named(_ name: String) throws -> OutputTensor {
            guard let tensor = tensors.first(where: { $0.name == name }) else {
                throw SaegeoError.badFile("the candidates have no tensor \(name)")
            }
            return tensor
        }
        let tiles = try named(Self.tileTensor), ids = try named(Self.idTensor), scores = try named(Self.scoreTensor)
        guard tiles.dtype == .i64, ids.dtype == .i64, scores.dtype == .f32, tiles.shape.count == 1 else {
            throw SaegeoError.badFile("the candidates' tensors have other types than saegeo writes")
        }
        let tileList = tiles.values(Int64.self)
        guard tileList.allSatisfy({ $0 >= 0 && $0 < Int64(plan.tiles) }) else {
            throw SaegeoError.badFile("the candidates name tiles the plan does not have")
        }
        self.init(plan: plan, perRow: perRow, tiles: tileList.map { Int($0) }, ids: [], scores: [])
        guard ids.shape == [rows, perRow], scores.shape == [rows, perRow] else {
            throw SaegeoError.badFile("the candidates hold \(ids.shape) lists, not the \(rows) x \(perRow) of their tiles")
        }
        let idValues = ids.values(Int64.self)
        guard idValues.allSatisfy({ $0 >= -1 && $0 < Int64(features) }) else {
            throw SaegeoError.badFile("the candidates hold ids outside the dictionary")
        }
        self.ids = idValues.map { Int32($0) }
        self.scores = scores.values(Float.self)
        errorBound = try Self.errorBound(of: tensors.first { $0.name == Self.boundTensor })
    }
}
