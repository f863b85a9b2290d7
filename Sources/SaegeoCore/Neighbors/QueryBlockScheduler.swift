/// Queries against keys: devices take blocks of queries from the scheduler loop (faster devices take
/// more) and stream every key tile through them; each block is ranked exactly as soon as it is done.
struct QueryBlockScheduler {
    let context: SchedulerContext
    let liveKeys: [Int32]
    let queryRows: [Int]

    func run(on engines: [ComputeEngine], progress: (@Sendable (ProgressReport) -> Void)?) throws -> Double {
        let context = self.context, liveKeys = self.liveKeys, queryRows = self.queryRows
        let plans = context.plan.devices
        // Several devices: blocks small enough that every device gets a share of the queries.
        let share = engines.count > 1 ? max(1, (queryRows.count + 2 * engines.count - 1) / (2 * engines.count)) : Int.max
        let tilesPerQuery = plans.map { (liveKeys.count + $0.keyTile - 1) / $0.keyTile }
        let estimate = zip(plans, tilesPerQuery).map { plan, tiles in
            ((queryRows.count + min(plan.queryBlock, share) - 1) / min(plan.queryBlock, share)) * tiles
        }.max() ?? 0
        let counter = ProgressCounter(total: estimate, report: progress)
        let d = Double(context.dictionary.dimension)
        let loop = SchedulerLoop(items: queryRows.count, cancellation: context.cancellation, progress: counter,
                                 batch: { min(plans[$0].queryBlock, share) })
        let workers = Array(zip(engines, plans))
        // Each block is ranked as soon as it is done, into its own rows of the output.
        try loop.run(on: workers, start: { engine, _ in
            let layout = engine.capabilities.layout
            return (keys: TileStager(dictionary: context.dictionary, norms: context.norms, layout: layout,
                                     buffers: engine.capabilities.stagedKeyTiles),
                    queries: TileStager(dictionary: context.queryDictionary, norms: context.queryNorms, layout: layout,
                                        buffers: 1, hidesIds: context.twoDictionaries))
        }, item: { worker, stagers, block in
            let (engine, plan) = worker
            let rows = Array(queryRows[block])
            try engine.beginQueries(stagers.queries.tile(rows.map { Int32(context.queries[$0]) }[...]),
                                    candidates: context.plan.problem.candidates)
            for start in stride(from: 0, to: liveKeys.count, by: plan.keyTile) {
                let tile = liveKeys[start..<min(liveKeys.count, start + plan.keyTile)]
                try engine.addKeys(stagers.keys.tile(tile))
                try loop.step(flops: 2 * Double(rows.count) * Double(tile.count) * d)
            }
            let lists = try engine.finishQueries()
            context.output.rank(lists, rows: rows, queries: context.queries, ranking: context.ranking)
        })
        return counter.flopsDone
    }
}
