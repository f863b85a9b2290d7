import Foundation

/// The toxic proximity of features to several small key sets at once (the dataset summary's null
/// sets): for each set, p_f = the best exact cosine between f and the set's live keys other than
/// f, 1 for the set's own live features, 0 for dead features or when no key is left. The values
/// are those of one ToxicProximity pass per set, bit for bit, for a fraction of the work: the
/// queries are staged once for all the sets, the engines score them against the union of the keys
/// in float32, and per (feature, set) only the keys within the float32 error bound of the set's
/// best are re-scored exactly (ExactRanking's certificate, with every key a candidate).
enum SetProximities {
    /// The sets' union should stay at a few hundred keys: every query keeps a candidate per key.
    static func compute(_ sets: [[Int]], decoder: FeatureMatrix, norms: FeatureNorms, engines: [ComputeEngine],
                        queries: [Int], memoryBudget: Int?) throws -> [[Float]] {
        let features = decoder.features
        let keys = Set(sets.joined()).filter(norms.isLive).sorted()
        let live = queries.filter(norms.isLive)
        var proximities = sets.map { _ in [Float](repeating: 0, count: features) }
        if !keys.isEmpty, !live.isEmpty {
            let lists = try candidates(of: live, keys: keys, decoder: decoder, norms: norms, engines: engines,
                                       memoryBudget: memoryBudget)
            rank(lists, queries: live, keys: keys, sets: sets, decoder: decoder, norms: norms, into: &proximities)
        }
        for (index, set) in sets.enumerated() {
            for t in set where norms.isLive(t) { proximities[index][t] = 1 }
        }
        return proximities
    }

    /// Float32 similarities of every query to every key (itself excluded), blocks of queries
    /// shared among the engines, tiles sized by the planner as for any search.
    private static func candidates(of queries: [Int], keys: [Int], decoder: FeatureMatrix, norms: FeatureNorms,
                                   engines: [ComputeEngine], memoryBudget: Int?) throws -> [CandidateLists] {
        let problem = TilePlanner.Problem(queries: queries.count, keys: keys.count, dimension: decoder.dimension,
                                          k: keys.count, candidates: keys.count, allPairs: false)
        let plan = try TilePlanner.plan(problem, devices: engines.map { NeighborSearch.plannerDevice($0, budget: memoryBudget) })
        let queryBlock = plan.devices.map(\.queryBlock).min()!
        let blocks = stride(from: 0, to: queries.count, by: queryBlock).map { $0..<min(queries.count, $0 + queryBlock) }
        let work = WorkQueue(count: blocks.count)
        let results = ResultSlots<[Int: CandidateLists]>(count: engines.count)
        let keyIds = keys.map { Int32($0) }, queryIds = queries.map { Int32($0) }
        try DeviceThreads.run(engines, cancellation: Cancellation()) { handle in
            let engine = handle.engine, layout = engine.capabilities.layout, keyTile = plan.devices[handle.index].keyTile
            let keyTiles = stride(from: 0, to: keyIds.count, by: keyTile).map {
                norms.unitRows(keyIds[$0..<min(keyIds.count, $0 + keyTile)], of: decoder, layout: layout)
            }
            var done: [Int: CandidateLists] = [:]
            while let taken = work.take(1) {
                try engine.beginQueries(norms.unitRows(queryIds[blocks[taken.lowerBound]], of: decoder, layout: layout),
                                        candidates: keys.count)
                for tile in keyTiles { try engine.addKeys(tile) }
                done[taken.lowerBound] = try engine.finishQueries()
            }
            results.set(handle.index, done)
        }
        let merged = results.all.reduce(into: [Int: CandidateLists]()) { $0.merge($1) { a, _ in a } }
        return blocks.indices.map { merged[$0]! }
    }

    /// Per query and set, the best exact score among the set's keys that can reach it.
    private static func rank(_ lists: [CandidateLists], queries: [Int], keys: [Int], sets: [[Int]],
                             decoder: FeatureMatrix, norms: FeatureNorms, into proximities: inout [[Float]]) {
        let d = decoder.dimension, bound = ExactRanking.errorBound(dimension: d), perRow = keys.count
        // Per key (by its position in `keys`), the sets it belongs to; per feature id, its key
        // position or -1 (arrays, not dictionaries: they are read for every candidate of every query).
        var keyPosition = [Int32](repeating: -1, count: decoder.features)
        for (i, key) in keys.enumerated() { keyPosition[key] = Int32(i) }
        var setsOfKey = [[Int]](repeating: [], count: keys.count)
        for (index, set) in sets.enumerated() {
            for t in Set(set) where keyPosition[t] >= 0 { setsOfKey[Int(keyPosition[t])].append(index) }
        }
        let keyRows = UnsafeMutablePointer<Float>.allocate(capacity: max(1, keys.count * d))
        defer { keyRows.deallocate() }
        for (i, key) in keys.enumerated() { decoder.copyFeature(key, into: keyRows + i * d) }
        let output = proximities.map { UnsafeMutableBufferPointer<Float>.allocate(capacity: $0.count) }
        defer { output.forEach { $0.deallocate() } }
        for (index, p) in proximities.enumerated() { _ = output[index].initialize(from: p) }
        let out = output.map { UnsafeSendablePointer($0.baseAddress!) }, rows = UnsafeSendablePointer(keyRows)
        let starts = lists.reduce(into: [0]) { $0.append($0.last! + $1.rows) }
        let positions = keyPosition, setsOf = setsOfKey
        parallelChunks(queries.count) { range in
            let row = UnsafeMutablePointer<Float>.allocate(capacity: d), query = UnsafeMutablePointer<Double>.allocate(capacity: d)
            defer { row.deallocate(); query.deallocate() }
            var best = [Float](repeating: 0, count: sets.count), valid = [Int](repeating: 0, count: sets.count)
            // The exact score of each key for this query, NaN until computed.
            var exact = [Double](repeating: 0, count: sets.count), scored = [Double](repeating: .nan, count: perRow)
            for position in range {
                let block = starts.lastIndex { $0 <= position }!, r = position - starts[block], list = lists[block]
                let f = queries[position]
                decoder.copyFeature(f, into: row)
                for i in 0..<d { query[i] = Double(row[i]) }
                for i in sets.indices { best[i] = -.infinity; valid[i] = 0; exact[i] = -.infinity }
                let slots = (r * list.perRow)..<((r + 1) * list.perRow)
                for slot in slots where list.ids[slot] >= 0 {
                    for i in setsOf[Int(positions[Int(list.ids[slot])])] { best[i] = max(best[i], list.scores[slot]); valid[i] += 1 }
                }
                for j in 0..<perRow { scored[j] = .nan }
                for slot in slots where list.ids[slot] >= 0 {
                    let id = list.ids[slot], j = Int(positions[Int(id)])
                    for i in setsOf[j] where valid[i] == 1 || Double(list.scores[slot]) >= Double(best[i]) - 2 * bound {
                        if scored[j].isNaN {
                            scored[j] = Exact.dot(query, rows.pointer + j * d, count: d) / (norms.norms[f] * norms.norms[Int(id)])
                        }
                        exact[i] = max(exact[i], scored[j])
                    }
                }
                for i in sets.indices where valid[i] > 0 { out[i].pointer[f] = Float(exact[i]) }
            }
        }
        for index in proximities.indices { proximities[index] = Array(output[index]) }
    }
}
