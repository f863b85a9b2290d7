import Foundation
import Testing
@testable import SaegeoCore

/// Sharded all pairs with the bfloat16 first pass: blocks and shards of either precision, in any
/// mix (a job resumed with another `--precision`), rank into the single float32 run, because
/// every saved list carries the bound of the arithmetic that chose it (TileCandidates.errorBound).
@Suite(.serialized)
struct BFloat16ShardTests {
    /// The shards' lists of each tile combined and ranked, as `saegeo merge` does (PairShardMerge).
    static func merge(_ shards: [TileCandidates], matrix: FeatureMatrix, norms: FeatureNorms, liveKeys: [Int32],
                      k: Int) -> SearchOutput {
        let plan = shards[0].plan, perRow = shards[0].perRow
        let output = SearchOutput(queries: matrix.features, k: k)
        let ranking = ExactRanking(dictionary: matrix, norms: norms, liveKeys: liveKeys, k: k)
        let bound = shards.compactMap(\.errorBound).max()
        for tile in 0..<plan.tiles {
            let positions = plan.tileRange(tile)
            var ids: [Int32] = [], scores: [Float] = []
            for shard in shards {
                var first = 0
                for t in shard.tiles {
                    let slots = plan.tileRange(t).count * perRow
                    if t == tile {
                        ids += shard.ids[first..<(first + slots)]
                        scores += shard.scores[first..<(first + slots)]
                    }
                    first += slots
                }
            }
            let lists = ids.count / (positions.count * perRow)
            let sources = (0..<positions.count).flatMap { row in (0..<lists).map { $0 * positions.count + row } }
            let cut = TileCandidates.best(ids: ids, scores: scores, width: perRow, sources: sources,
                                          offsets: (0...positions.count).map { $0 * lists }, perRow: perRow)
            output.rank(CandidateLists(rows: positions.count, perRow: perRow, ids: cut.ids, scores: cut.scores, errorBound: bound),
                        rows: positions.map { Int(liveKeys[$0]) }, queries: Array(0..<matrix.features), ranking: ranking)
        }
        return output
    }

    @Test("shards whose blocks alternate float32 and bfloat16 (native, portable) rank into the single float32 run")
    func alternatingBlocks() throws {
        let dictionary = try TestDictionary.make(features: 1100, dimension: 41, seed: 52, dead: [0, 9, 1099],
                                                 duplicates: [(copy: 17, of: 3), (copy: 640, of: 3), (copy: 641, of: 642)])
        let matrix = try dictionary.open()
        let all = Array(0..<1100), k = 7
        let single = try NeighborSearch(dictionary: matrix, queries: all, keys: all, k: k).run(on: [CPUEngine()])
        let norms = FeatureNorms(of: matrix, features: all)
        let liveKeys = all.filter(norms.isLive).map { Int32($0) }
        let precisions: [() -> [ComputeEngine]] = [
            { [BFloat16NeighborTests.bfloat16(portable: false)] }, { [CPUEngine()] },
            { [BFloat16NeighborTests.bfloat16(portable: true)] }]
        for count in [1, 3] {
            var shards: [TileCandidates] = []
            for index in 0..<count {
                let search = PairShardSearch(dictionary: matrix, k: k, shard: try ShardSpec(index: index, count: count), memoryBudget: nil)
                let order = search.blockOrder, size = search.blockSize
                var joined: [[OutputTensor]] = []
                for (number, start) in stride(from: 0, to: order.count, by: size).enumerated() {
                    let block = Array(order[start..<min(order.count, start + size)])
                    let tensors = try search.compute(block, on: precisions[(number + index) % 3](), cancellation: Cancellation())
                    try search.absorb(tensors)
                    joined.append(tensors.filter(PairShardSearch.joins))
                }
                let output = try search.output(joined: OutputTensor.joined(joined))
                let lists = try TileCandidates(tensors: output, plan: search.plan, perRow: search.candidates, features: 1100)
                // The bfloat16 blocks' bound travels with the shard's lists.
                #expect((lists.errorBound ?? 0) > ExactRanking.errorBound(dimension: 41), "shard \(index)/\(count)")
                shards.append(lists)
            }
            let merged = Self.merge(shards, matrix: matrix, norms: norms, liveKeys: liveKeys, k: k)
            #expect(merged.indices == single.indices, "\(count) shards: indices differ")
            #expect(merged.scores.map(\.bitPattern) == single.scores.map(\.bitPattern), "\(count) shards: scores differ")
        }
    }

    @Test("bfloat16 shards keep a first pass's candidates, so random rows at d 2304 certify at the merge without exhaustive rows")
    func shardListsLongEnough() throws {
        // 3000 random rows of d 2304: ranks 32 to 48 span about 3e-3 of cosine, the bfloat16
        // bound's size, so float32's 48 candidates would leave about half the rows uncertified
        // (each then ranked over every key); a first pass's 96 reach about 9e-3 down.
        let features = 3000, k = 32
        let dictionary = try TestDictionary.make(features: features, dimension: 2304, seed: 61)
        let matrix = try dictionary.open()
        let all = Array(0..<features)
        let single = try NeighborSearch(dictionary: matrix, queries: all, keys: all, k: k).run(on: [CPUEngine()])
        let norms = FeatureNorms(of: matrix, features: all)
        let liveKeys = all.map { Int32($0) }
        var shards: [TileCandidates] = []
        for index in 0..<2 {
            let search = PairShardSearch(dictionary: matrix, k: k, shard: try ShardSpec(index: index, count: 2), memoryBudget: nil)
            #expect(search.candidates == NeighborSearch.candidates(k: k, keys: features, firstPass: true))
            let tensors = try search.compute(search.blockOrder, on: [BFloat16NeighborTests.bfloat16(portable: false)],
                                             cancellation: Cancellation())
            try search.absorb(tensors)
            let output = try search.output(joined: OutputTensor.joined([tensors.filter(PairShardSearch.joins)]))
            shards.append(try TileCandidates(tensors: output, plan: search.plan, perRow: search.candidates, features: features))
        }
        let merged = Self.merge(shards, matrix: matrix, norms: norms, liveKeys: liveKeys, k: k)
        #expect(merged.exhaustiveRows == 0, "\(merged.exhaustiveRows) of \(features) rows ranked over every key")
        #expect(merged.indices == single.indices)
        #expect(merged.scores.map(\.bitPattern) == single.scores.map(\.bitPattern))
    }

    @Test("a float32 lists' file has no bound tensor; a bfloat16 one states its bound, which a bad value fails")
    func boundTensor() throws {
        let plan = PairShardPlan(features: 10, tile: 64, shards: 1)
        let plain = TileCandidates(plan: plan, perRow: 2, tiles: [0], ids: [Int32](repeating: -1, count: 20),
                                   scores: [Float](repeating: -.infinity, count: 20))
        #expect(plain.tensors.map(\.name) == [TileCandidates.tileTensor, TileCandidates.idTensor, TileCandidates.scoreTensor])
        var rounded = plain
        rounded.errorBound = 3e-3
        let back = try TileCandidates(tensors: rounded.tensors, plan: plan, perRow: 2, features: 10)
        #expect(back.errorBound == 3e-3)
        #expect(try TileCandidates(tensors: plain.tensors, plan: plan, perRow: 2, features: 10).errorBound == nil)
        let bad = plain.tensors + [.float64(TileCandidates.boundTensor, shape: [1], [-1])]
        #expect(throws: SaegeoError.self) { try TileCandidates(tensors: bad, plan: plan, perRow: 2, features: 10) }
    }

    @Test("an all-pairs shard checkpointed by the bfloat16 first pass, resumed in float32 (cpu,opencl:0), merges into the single run")
    func resumedAcrossPrecisions() throws {
        let dictionary = try TestDictionary.make(features: 2053, dimension: 29, seed: 45, dead: [0, 500, 2052],
                                                 duplicates: [(copy: 17, of: 3), (copy: 900, of: 3), (copy: 640, of: 641)])
        let folder = TestFiles.path("bf16-symmetric-resume")
        try? FileManager.default.removeItem(atPath: folder)
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let devices = TestBackends.hasOpenCL ? "cpu,opencl:0" : "cpu"
        var shards: [String] = []
        for index in 0..<2 {
            let out = folder + "/shard\(index).safetensors"
            let saved = try SymmetricShardTests.seedCheckpoint(dictionary, output: out, k: 9, shard: ShardSpec(index: index, count: 2),
                                                               blocks: 2, engines: [BFloat16NeighborTests.bfloat16(portable: index == 1)])
            let resumed = try CommandRunner.saegeo(SymmetricShardTests.shardArguments(dictionary.path, out, shard: "\(index)/2",
                                                                                       device: devices))
            #expect(resumed.status == 0 && resumed.stderr.contains("resuming from \(out).checkpoint: \(saved) of"), "\(resumed.stderr)")
            shards.append(out)
        }
        let single = folder + "/single.safetensors", merged = folder + "/merged.safetensors"
        #expect(try CommandRunner.saegeo(["neighbors", "--sae", dictionary.path, "-k", "9", "-o", single, "--device", "cpu"]).status == 0)
        let merge = try CommandRunner.saegeo(["merge", "-o", merged] + shards)
        #expect(merge.status == 0, "\(merge.stderr)")
        let a = try SafetensorsContents(path: single), b = try SafetensorsContents(path: merged)
        for name in ["query_ids", "indices", "scores"] { #expect(a.tensors[name]?.bytes == b.tensors[name]?.bytes, "\(name)") }
    }
}
