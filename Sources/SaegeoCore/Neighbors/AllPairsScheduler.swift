/// All pairs: the live features are cut into tiles T_0..T_n-1 and each pair (I, J >= I) is computed
/// once, updating the candidates of T_I's rows and of T_J's columns: about half the arithmetic of a
/// plain product (PairTilePass). Devices take row tiles I from the scheduler loop; each keeps
/// candidates for all features over the keys it saw, and the lists of all devices are ranked
/// together at the end.
struct AllPairsScheduler {
    let context: SchedulerContext
    let liveKeys: [Int32]
    let queryRows: [Int]

    func run(on engines: [ComputeEngine], progress: (@Sendable (ProgressReport) -> Void)?) throws -> Double {
        let context = self.context, liveKeys = self.liveKeys
        let tile = context.plan.devices[0].keyTile
        let tiles = stride(from: 0, to: liveKeys.count, by: tile).map { $0..<min(liveKeys.count, $0 + tile) }
        let counter = ProgressCounter(total: tiles.count * (tiles.count + 1) / 2, report: progress)
        var pass = PairTilePass(dictionary: context.dictionary, norms: context.norms, liveKeys: liveKeys, tiles: tiles,
                                offsets: Dictionary(uniqueKeysWithValues: tiles.indices.map { ($0, tiles[$0].lowerBound) }),
                                groups: tiles.indices.map { PairTilePass.Group(row: $0, columns: Array($0..<tiles.count)) },
                                features: liveKeys.count, candidates: context.plan.problem.candidates, seed: nil)
        if context.plan.keepsTilesResident {
            pass.resident = tiles.map { context.norms.unitRows(liveKeys[$0], of: context.dictionary, layout: engines[0].capabilities.layout) }
            context.dictionary.releaseAllPages()
        }
        let lists = try pass.run(on: engines, cancellation: context.cancellation, progress: counter)
        // Candidate row p belongs to live key p; map query rows to their live positions.
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
        context.output.rank(CandidateLists(rows: rows.count, perRow: perRow, segments: lists.segments, ids: ids, scores: scores,
                                           errorBound: lists.errorBound),
                            rows: rows, queries: context.queries, ranking: context.ranking)
        return counter.flopsDone
    }
}
