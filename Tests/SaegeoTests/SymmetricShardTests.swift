import Foundation
import Testing
@testable import SaegeoCore

/// Sharded all pairs (`neighbors --queries all --keys all --shard I/N`): the symmetric schedule's
/// tile pairs divided among the shards (PairShardPlan), candidates written per shard, and `merge`
/// ranking them into exactly the single all-pairs run's file.
@Suite(.serialized)
struct SymmetricShardTests {
    @Test("every tile pair goes to exactly one shard, contiguously, balanced within one pair's work")
    func pairAssignment() {
        for (features, tile) in [(0, 64), (1, 64), (100, 64), (1000, 128), (1003, 64), (16384, 1472), (5000, 4096)] {
            for shards in [1, 2, 3, 4, 7, 16, 40] {
                let plan = PairShardPlan(features: features, tile: tile, shards: shards)
                let t = plan.tiles
                #expect(plan.pairs.count == t * (t + 1) / 2)
                #expect(Set(plan.pairs).count == plan.pairs.count && plan.pairs.allSatisfy { $0.row <= $0.column && $0.column < t })
                let ranges = (0..<shards).map(plan.range(ofShard:))
                #expect(ranges.first!.lowerBound == 0 && ranges.last!.upperBound == plan.pairs.count)
                #expect(zip(ranges, ranges.dropFirst()).allSatisfy { $0.upperBound == $1.lowerBound })
                // The work of all shards is the single run's (diagonal tiles counted as half), and
                // each shard's is within one pair's of the average.
                let works = (0..<shards).map(plan.work(ofShard:))
                #expect(works.reduce(0, +) == plan.totalWork)
                let largest = plan.pairs.map(plan.work(of:)).max() ?? 0
                let mean = Double(plan.totalWork) / Double(shards)
                #expect(works.allSatisfy { abs(Double($0) - mean) <= Double(largest) + 1 }, "\(features) \(tile) \(shards): \(works)")
                // The same answer when computed again (no state, no randomness).
                #expect(PairShardPlan(features: features, tile: tile, shards: shards) == plan)
            }
        }
        // In half products, pairs I < J count 2 s_I s_J and tiles against themselves s_I^2: n^2 in all,
        // the upper triangle the CPU computes, whatever the tiles.
        let plan = PairShardPlan(features: 1000, tile: 300, shards: 4)
        #expect(plan.totalWork == 1000 * 1000)
    }

    @Test("the tile depends on the dictionary's size and N only; at least 8 pairs per shard keep the shards within 1/4")
    func tileSizes() {
        for features in [10, 1000, 16384, 131072, 1 << 20] {
            for shards in [1, 4, 16, 64] {
                let tile = PairShardPlan.tileSize(features: features, shards: shards)
                #expect(tile % 64 == 0 && tile >= 64 && tile <= 4096)
                let plan = PairShardPlan(features: features, tile: tile, shards: shards)
                if tile > 64 && tile < 4096 {
                    #expect(plan.pairs.count >= 8 * shards, "\(features) / \(shards): \(plan.pairs.count) pairs")
                    let mean = Double(plan.totalWork) / Double(shards)
                    #expect((0..<shards).map(plan.work(ofShard:)).allSatisfy { abs(Double($0) - mean) <= mean / 4 })
                }
            }
        }
        #expect(PairShardPlan.tileSize(features: 16384, shards: 4) == PairShardPlan.tileSize(features: 16384, shards: 4))
    }

    @Test("cutting disjoint candidate lists to their best keeps the best, by score then id")
    func candidateUnion() {
        var ids: [Int32] = [], scores: [Float] = []
        TileCandidates.best(of: [([3, -1, 9], [0.5, -.infinity, 0.7]), ([4, 2], [0.5, 0.9])], perRow: 3, ids: &ids, scores: &scores)
        #expect(ids == [2, 9, 3] && scores == [0.9, 0.7, 0.5])
        ids = []; scores = []
        TileCandidates.best(of: [([1], [0.1])], perRow: 3, ids: &ids, scores: &scores)
        #expect(ids == [1, -1, -1] && scores[1] == -.infinity)
        // An entry in two lists (a seeded block repeats its seed, bit for bit) counts once.
        ids = []; scores = []
        TileCandidates.best(of: [([5, 7, 8], [0.9, 0.6, 0.2]), ([5, 7, 4], [0.9, 0.6, 0.3])], perRow: 4, ids: &ids, scores: &scores)
        #expect(ids == [5, 7, 4, 8] && scores == [0.9, 0.6, 0.3, 0.2])
    }

    @Test("a seeded all-pairs run keeps what one run over every tile keeps (the first device of every backend)",
          arguments: TestBackends.firstOfEachBackend)
    func seededLists(device: String) throws {
        // 3 tiles of a random dictionary; lists of 12 (more than a tile's self-excluded offers are
        // not needed). One engine sees all 6 tile pairs; another the first 2, whose lists (cut to
        // their best, as a shard's blocks are) seed a third engine that sees the other 4.
        let dictionary = try TestDictionary.make(features: 301, dimension: 29, seed: 41)
        let matrix = try dictionary.open()
        let norms = FeatureNorms(of: matrix, features: Array(0..<301))
        let bounds = [0, 97, 211, 301], perRow = 12
        func engine() throws -> ComputeEngine { try TestBackends.catalog().engine(for: device) }
        let layout = try engine().capabilities.layout
        let tiles = (0..<3).map { t in norms.unitRows(Array(Int32(bounds[t])..<Int32(bounds[t + 1]))[...], of: matrix, layout: layout) }
        let pairs = [(0, 0), (0, 1), (0, 2), (1, 1), (1, 2), (2, 2)]
        func run(_ pairs: ArraySlice<(Int, Int)>, seed: CandidateLists?) throws -> CandidateLists {
            let e = try engine()
            try e.beginAllPairs(features: 301, candidates: perRow, seed: seed)
            for (i, j) in pairs {
                try e.addPairTile(rows: tiles[i], rowOffset: bounds[i], columns: tiles[j], columnOffset: bounds[j])
            }
            return try e.finishAllPairs()
        }
        func sorted(_ lists: CandidateLists) -> CandidateLists {
            let cut = TileCandidates.best(ids: lists.ids, scores: lists.scores, width: perRow, sources: Array(0..<301),
                                          offsets: Array(0...301), perRow: perRow)
            return CandidateLists(rows: 301, perRow: perRow, ids: cut.ids, scores: cut.scores)
        }
        let whole = sorted(try run(pairs[...], seed: nil))
        let first = sorted(try run(pairs[..<2], seed: nil))
        let seeded = sorted(try run(pairs[2...], seed: first))
        let unseeded = sorted(try run(pairs[2...], seed: nil))
        #expect(seeded.ids == whole.ids && seeded.scores == whole.scores)
        // Without the seed, the rows of tile 0 miss the keys of tile 1 (the test would catch a seed ignored).
        #expect(unseeded.ids != whole.ids)
        #expect(whole.ids.allSatisfy { $0 >= 0 })
    }

    /// Saves the first `blocks` checkpoint blocks of a shard as the command would have before a
    /// SIGTERM (the same job string, blocks and tensors); returns how many pairs they hold.
    static func seedCheckpoint(_ dictionary: TestDictionary, output: String, k: Int, shard: ShardSpec, blocks: Int,
                               engines: @autoclosure () throws -> [ComputeEngine] = [CPUEngine()]) throws -> Int {
        let checkpoint = try SAECheckpoint.open(dictionary.path)
        let search = PairShardSearch(dictionary: try checkpoint.decoder(), k: k, shard: shard, memoryBudget: nil)
        let fingerprint = try JobFingerprint.of(files: checkpoint.files,
                                            options: ["neighbors", dictionary.path, "all", "all", String(k), String(dictionary.features)])
        let saved = ShardCheckpoint(output: output, job: "\(fingerprint) \(search.planLabel) shard \(shard)")
        let size = search.blockSize
        var done = 0
        for start in stride(from: 0, to: min(search.pairs.count, blocks * size), by: size) {
            let block = start..<min(search.pairs.count, start + size)
            let tensors = try search.compute(Array(search.blockOrder[block]), on: try engines(), cancellation: Cancellation())
            try saved.save(block: block, tensors: tensors)
            try search.absorb(tensors)
            done += block.count
        }
        #expect(done > 0 && done < search.pairs.count, "the shard has \(search.pairs.count) pairs in blocks of \(size)")
        return done
    }

    static func shardArguments(_ sae: String, _ out: String, shard: String, device: String) -> [String] {
        ["neighbors", "--sae", sae, "-k", "9", "-o", out, "--shard", shard, "--device", device]
    }

    @Test("4 all-pairs shards (cpu and opencl:0, one resumed) merge byte for byte into the single all-pairs run; bad sets are refused")
    func symmetricShardsMatchSingleRun() throws {
        // Awkward size, dead rows, duplicate rows (exact ties the certificate cannot settle).
        let dictionary = try TestDictionary.make(features: 2053, dimension: 29, seed: 44, dead: [0, 500, 2052],
                                                 duplicates: [(copy: 17, of: 3), (copy: 900, of: 3), (copy: 640, of: 641)])
        let folder = TestFiles.path("symmetric-shards")
        try? FileManager.default.removeItem(atPath: folder)
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let hasOpenCL = TestBackends.hasOpenCL
        let devices = ["cpu", "opencl:0", "cpu,opencl:0", "opencl:0"].map { hasOpenCL ? $0 : "cpu" }
        var shards: [String] = []
        for i in 0..<4 {
            let out = folder + "/shard\(i).safetensors"
            let arguments = Self.shardArguments(dictionary.path, out, shard: "\(i)/4", device: devices[i])
            if i == 1 {
                // A shard stopped after its first block (saved on the CPU engine), resumed on another device.
                let saved = try Self.seedCheckpoint(dictionary, output: out, k: 9, shard: ShardSpec(index: 1, count: 4), blocks: 1)
                let resumed = try CommandRunner.saegeo(arguments)
                #expect(resumed.status == 0 && resumed.stderr.contains("resuming from \(out).checkpoint: \(saved) of"), "\(resumed.stderr)")
            } else {
                let run = try CommandRunner.saegeo(arguments)
                #expect(run.status == 0 && run.stderr.contains("tile pairs"), "\(run.stderr)")
            }
            #expect(!FileManager.default.fileExists(atPath: out + ".checkpoint"))
            #expect(try ShardManifest.read(out).command == .neighborPairs)
            shards.append(out)
        }
        let single = folder + "/single.safetensors", merged = folder + "/merged.safetensors"
        let one = try CommandRunner.saegeo(["neighbors", "--sae", dictionary.path, "-k", "9", "-o", single, "--device", "cpu"])
        #expect(one.status == 0 && one.stderr.contains("all pairs (symmetric)"), "\(one.stderr)")
        let merge = try CommandRunner.saegeo(["merge", "-o", merged] + shards.reversed())
        #expect(merge.status == 0 && merge.stderr.contains("sharded all-pairs"), "\(merge.stderr)")
        let a = try SafetensorsContents(path: single), b = try SafetensorsContents(path: merged)
        for name in ["query_ids", "indices", "scores"] {
            #expect(a.tensors[name]?.bytes == b.tensors[name]?.bytes, "\(name)")
            #expect(a.tensors[name]?.shape == b.tensors[name]?.shape, "\(name)")
        }
        // The metadata is the single run's but for the devices, which name every shard's.
        let singleMetadata = try SafetensorsFile(path: single).metadata, mergedMetadata = try SafetensorsFile(path: merged).metadata
        let same = { (m: [String: String]) in m.filter { !$0.key.hasPrefix("saegeo.device") && $0.key != "saegeo.checksum" } }
        #expect(same(singleMetadata) == same(mergedMetadata))
        // Shards on the single run's device: the whole file is the single run's, byte for byte.
        var cpuShards: [String] = []
        for i in 0..<2 {
            let out = folder + "/cpu\(i).safetensors"
            #expect(try CommandRunner.saegeo(Self.shardArguments(dictionary.path, out, shard: "\(i)/2", device: "cpu")).status == 0)
            cpuShards.append(out)
        }
        let cpuMerged = folder + "/cpu-merged.safetensors"
        #expect(try CommandRunner.saegeo(["merge", "-o", cpuMerged] + cpuShards).status == 0)
        #expect(try Data(contentsOf: URL(fileURLWithPath: single)) == Data(contentsOf: URL(fileURLWithPath: cpuMerged)))

        // Another job (k 8), a missing shard, a shard twice, a damaged shard: one line, nothing written.
        let foreign = folder + "/foreign.safetensors"
        #expect(try CommandRunner.saegeo(["neighbors", "--sae", dictionary.path, "-k", "8", "-o", foreign, "--shard", "3/4", "--device", "cpu"]).status == 0)
        let damaged = folder + "/damaged.safetensors"
        var bytes = try Data(contentsOf: URL(fileURLWithPath: shards[2]))
        bytes[bytes.count - 3] ^= 0x40
        try bytes.write(to: URL(fileURLWithPath: damaged))
        for (files, expected) in [(Array(shards.prefix(3)), "missing"), (shards + [shards[0]], "twice"),
                                  (Array(shards.prefix(3)) + [foreign], "another job"),
                                  ([shards[0], shards[1], damaged, shards[3]], "checksum")] {
            let out = folder + "/bad.safetensors"
            let bad = try CommandRunner.saegeo(["merge", "-o", out] + files)
            #expect(bad.status == 1 && bad.stderr.contains(expected), "\(bad.stderr)")
            #expect(bad.stderr.split(separator: "\n").count == 1, "\(bad.stderr)")
            #expect(!FileManager.default.fileExists(atPath: out))
        }
    }

    @Test("an all-pairs shard stopped by SIGTERM resumes and writes the uninterrupted bytes, which merge into the single run")
    func symmetricShardResume() throws {
        let folder = TestFiles.path("symmetric-resume")
        try? FileManager.default.removeItem(atPath: folder)
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let sae = ShardTests.example.saePath
        let out = folder + "/shard1.safetensors", uninterrupted = folder + "/uninterrupted.safetensors"
        let arguments = ["neighbors", "--sae", sae, "-k", "7", "-o", out, "--shard", "1/2", "--device", "cpu"]
        try ShardTests().terminateMidRun(arguments, output: out)
        let resumed = try CommandRunner.saegeo(arguments)
        #expect(resumed.status == 0 && resumed.stderr.contains("resuming from \(out).checkpoint"), "\(resumed.stderr)")
        #expect(try CommandRunner.saegeo(["neighbors", "--sae", sae, "-k", "7", "-o", uninterrupted, "--shard", "1/2", "--device", "cpu"]).status == 0)
        #expect(try Data(contentsOf: URL(fileURLWithPath: out)) == Data(contentsOf: URL(fileURLWithPath: uninterrupted)))
        let hasOpenCL = TestBackends.hasOpenCL
        let other = folder + "/shard0.safetensors", single = folder + "/single.safetensors", merged = folder + "/merged.safetensors"
        #expect(try CommandRunner.saegeo(["neighbors", "--sae", sae, "-k", "7", "-o", other, "--shard", "0/2",
                                          "--device", hasOpenCL ? "opencl:0" : "cpu"]).status == 0)
        #expect(try CommandRunner.saegeo(["neighbors", "--sae", sae, "-k", "7", "-o", single, "--device", "cpu"]).status == 0)
        #expect(try CommandRunner.saegeo(["merge", "-o", merged, out, other]).status == 0)
        let a = try SafetensorsContents(path: single), b = try SafetensorsContents(path: merged)
        for name in ["query_ids", "indices", "scores"] { #expect(a.tensors[name]?.bytes == b.tensors[name]?.bytes, "\(name)") }
    }

    @Test("plan --shards N prints the largest shard's share of the sharded symmetric schedule")
    func planShards() throws {
        let dictionary = try TestDictionary.make(features: 5000, dimension: 24, seed: 9)
        let run = try CommandRunner.saegeo(["plan", "--sae", dictionary.path, "-k", "8", "--device", "cpu", "--shards", "4",
                                            "--assume-gflops", "10", "--json"])
        #expect(run.status == 0, "\(run.stderr)")
        let report = try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as! [String: Any]
        let shard = report["shard"] as! [String: Any]
        let flops = report["flops"] as! Double, total = shard["total_flops"] as! Double, largest = shard["flops"] as! Double
        #expect(shard["pair_tile"] as? Int == PairShardPlan.tileSize(features: 5000, shards: 4))
        // Together the shards cost at most what one run does (smaller tiles against themselves:
        // less) and at least n^2 d, each about a quarter.
        #expect(total <= flops * 1.001 && total >= 5000.0 * 5000 * 24, "\(total) against \(flops)")
        #expect(largest <= total / 4 * 1.25 && (shard["estimated_seconds"] as! Double) > 0)
        let text = try CommandRunner.saegeo(["plan", "--sae", dictionary.path, "-k", "8", "--device", "cpu", "--shards", "4"])
        #expect(text.status == 0 && text.stdout.contains("in 4 shards: the largest does"), "\(text.stdout)")
    }

    @Test("query-sharded all-pairs files of earlier versions still merge; id-file shards still shard the queries")
    func oldQueryShards() throws {
        let dictionary = try TestDictionary.make(features: 211, dimension: 19, seed: 5, dead: [4])
        let folder = TestFiles.path("symmetric-old-shards")
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let ids = try TestFiles.write((0..<211).map(String.init).joined(separator: "\n"), to: "symmetric-old-ids.txt")
        var shards: [String] = []
        for i in 0..<3 {
            let out = folder + "/shard\(i).safetensors"
            let run = try CommandRunner.saegeo(["neighbors", "--sae", dictionary.path, "--queries", ids, "-k", "5", "-o", out,
                                                "--shard", "\(i)/3", "--device", "cpu"])
            #expect(run.status == 0, "\(run.stderr)")
            #expect(try ShardManifest.read(out).command == .neighbors)
            shards.append(out)
        }
        let merged = folder + "/merged.safetensors", single = folder + "/single.safetensors"
        #expect(try CommandRunner.saegeo(["merge", "-o", merged] + shards).status == 0)
        #expect(try CommandRunner.saegeo(["neighbors", "--sae", dictionary.path, "-k", "5", "-o", single, "--device", "cpu"]).status == 0)
        let a = try SafetensorsContents(path: single), b = try SafetensorsContents(path: merged)
        #expect(a.tensors["indices"]?.bytes == b.tensors["indices"]?.bytes && a.tensors["scores"]?.bytes == b.tensors["scores"]?.bytes)
    }
}
