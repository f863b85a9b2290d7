/// The symmetric pass of the single all-pairs run (AllPairsScheduler) and of a shard's block of
/// pairs (PairShardSearch): each pair of tiles (I, J) is computed once, updating the candidates of
/// T_I's rows and of T_J's columns. Devices take row groups (a row tile and the column tiles it
/// meets, in order) from the scheduler loop; each keeps candidates for every row it was offered,
/// and the devices' lists are concatenated in device order for the exact ranking or the shard.
struct PairTilePass: Sendable {
    struct Group: Sendable {
        let row: Int
        let columns: [Int]
    }

    let dictionary: FeatureMatrix
    let norms: FeatureNorms
    /// Live features in id order: the positions the tiles cut.
    let liveKeys: [Int32]
    /// Each tile's live positions, by tile index.
    let tiles: [Range<Int>]
    /// Where each tile's rows start among the engines' candidate rows.
    let offsets: [Int: Int]
    let groups: [Group]
    /// Candidate rows and candidates per row the engines keep; the lists they start from, if any.
    let features: Int
    let candidates: Int
    let seed: CandidateLists?
    /// Tiles prepared once for the whole pass (when the plan has room for them), by tile index.
    var resident: [UnitRows]? = nil

    /// The devices' candidate lists, concatenated in device order.
    func run(on engines: [ComputeEngine], cancellation: Cancellation, progress: ProgressCounter) throws -> CandidateLists {
        let pass = self, d = Double(dictionary.dimension)
        let loop = SchedulerLoop(items: groups.count, cancellation: cancellation, progress: progress)
        let lists = try loop.run(on: engines, start: { engine in
            try engine.beginAllPairs(features: pass.features, candidates: pass.candidates, seed: pass.seed)
            let layout = engine.capabilities.layout
            return (rows: TileStager(dictionary: pass.dictionary, norms: pass.norms, layout: layout, buffers: 1),
                    columns: TileStager(dictionary: pass.dictionary, norms: pass.norms, layout: layout,
                                        buffers: engine.capabilities.stagedKeyTiles))
        }, item: { engine, stagers, taken in
            let group = pass.groups[taken.lowerBound]
            let rows = pass.tile(group.row, stagers.rows)
            for column in group.columns {
                let columns = column == group.row ? rows : pass.tile(column, stagers.columns)
                try engine.addPairTile(rows: rows, rowOffset: pass.offsets[group.row]!,
                                       columns: columns, columnOffset: pass.offsets[column]!)
                try loop.step(flops: 2 * d * Double(rows.rows) * Double(columns.rows))
            }
        }, finish: { engine, _ in try engine.finishAllPairs() })
        // The seed's scores stay in the lists: their bound covers them too (a float32 engine
        // seeded from a bfloat16 block's lists, or the reverse).
        var found = CandidateLists.concatenating(lists)
        found.errorBound = CandidateLists.combinedBound(found.errorBound, seed?.errorBound, dimension: dictionary.dimension)
        return found
    }

    private func tile(_ index: Int, _ stager: TileStager) -> UnitRows {
        resident?[index] ?? stager.tile(liveKeys[tiles[index]])
    }
}
