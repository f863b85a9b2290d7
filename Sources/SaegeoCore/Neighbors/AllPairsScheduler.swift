/// All pairs: the live features are cut into tiles T_0..T_n-1 and each pair (I, J >= I) is computed
/// once, updating the candidates of T_I's rows and of T_J's columns: about half the arithmetic of a
/// plain product. Devices take row tiles I from a shared queue; each keeps candidates for all
/// features over the keys it saw, and the lists of all devices are ranked together at the end.
struct AllPairsScheduler {
    let context: SchedulerContext
    let liveKeys: [Int32]
    let queryRows: [Int]

    func run(on engines: [ComputeEngine], progress: (@Sendable (ProgressReport) -> Void)?) throws -> Double {
        let context = self.context, liveKeys = self.liveKeys
        let tile = context.plan.devices[0].keyTile
        let tiles = stride(from: 0, to: liveKeys.count, by: tile).map { $0..<min(liveKeys.count, $0 + tile) }
        let candidates = context.plan.problem.candidates
        let counter = ProgressCounter(total: tiles.count * (tiles.count + 1) / 2, report: progress)
        let work = WorkQueue(count: tiles.count)
        let d = Double(context.dictionary.dimension)
        let results = ResultSlots<CandidateLists>(count: engines.count)
        // Tiles prepared once for the whole run when the plan has room for them.
        let resident: [UnitRows]? = context.plan.keepsTilesResident
            ? tiles.map { context.norms.unitRows(liveKeys[$0], of: context.dictionary, layout: engines[0].capabilities.layout) }
            : nil
        if resident != nil { context.dictionary.releaseAllPages() }
        try DeviceThreads.run(engines, cancellation: context.cancellation) { handle in
            let engine = handle.engine
            try engine.beginAllPairs(features: liveKeys.count, candidates: candidates, seed: nil)
            let layout = engine.capabilities.layout
            let rowStager = TileStager(dictionary: context.dictionary, norms: context.norms, layout: layout, buffers: 1)
            let columnStager = TileStager(dictionary: context.dictionary, norms: context.norms, layout: layout,
                                          buffers: engine.capabilities.stagedKeyTiles)
            func tile(_ index: Int, _ stager: TileStager) -> UnitRows {
                resident?[index] ?? stager.tile(liveKeys[tiles[index]])
            }
            while let taken = work.take(1) {
                let i = taken.lowerBound
                let rows = tile(i, rowStager)
                for j in i..<tiles.count {
                    try context.cancellation.check()
                    let columns = j == i ? rows : tile(j, columnStager)
                    try engine.addPairTile(rows: rows, rowOffset: tiles[i].lowerBound,
                                           columns: columns, columnOffset: tiles[j].lowerBound)
                    counter.add(tiles: 1, flops: 2 * d * Double(tiles[i].count) * Double(j == i ? tiles[i].count : tiles[j].count))
                }
            }
            results.set(handle.index, try engine.finishAllPairs())
        }
        try context.cancellation.check()
        // Candidate row p belongs to live key p; map query rows to their live positions.
        let lists = CandidateLists.concatenating(results.all)
        var position: [Int32: Int] = [:]
        for (p, id) in liveKeys.enumerated() { position[id] = p }
        let rows = queryRows
        let perRow = lists.perRow
        var ids: [Int32] = [], scores: [Float] = []
        ids.reserveCapacity(rows.count * perRow)
        scores.reserveCapacity(rows.count * perRow)
        for row in rows {
            let p = position[Int32(context.queries[row])]!
            ids += lists.ids[(p * perRow)..<((p + 1) * perRow)]
            scores += lists.scores[(p * perRow)..<((p + 1) * perRow)]
        }
        context.output.rank(CandidateLists(rows: rows.count, perRow: perRow, segments: lists.segments, ids: ids, scores: scores),
                            rows: rows, queries: context.queries, ranking: context.ranking)
        return counter.flopsDone
    }
}
