import Foundation
import Testing
@testable import SaegeoCore

/// `neighbors --shard I/N` and `merge`: shards of a job merge into exactly the single-run output;
/// missing, duplicated and foreign shards are refused.
@Suite(.serialized)
struct ShardTests {
    @Test("shard ranges are contiguous, balanced and cover everything")
    func ranges() throws {
        for count in [1, 3, 4, 7] {
            let ranges = try (0..<count).map { try ShardSpec(index: $0, count: count).range(of: 10) }
            #expect(ranges.first?.lowerBound == 0 && ranges.last?.upperBound == 10)
            #expect(zip(ranges, ranges.dropFirst()).allSatisfy { $0.upperBound == $1.lowerBound })
            #expect(ranges.map(\.count).max()! - ranges.map(\.count).min()! <= 1)
        }
        #expect(try ShardSpec.parse("slurm", environment: ["SLURM_ARRAY_TASK_ID": "3", "SLURM_ARRAY_TASK_COUNT": "4",
                                                          "SLURM_ARRAY_TASK_MIN": "1"]) == ShardSpec(index: 2, count: 4))
        #expect(throws: SaegeoError.self) { try ShardSpec.parse("4/4") }
        #expect(throws: SaegeoError.self) { try ShardSpec.parse("slurm", environment: [:]) }
    }

    @Test("a 4-way sharded job merges bit for bit into the single run; bad shard sets are refused")
    func mergeMatchesSingleRun() throws {
        let dictionary = try TestDictionary.make(features: 333, dimension: 41, seed: 21, dead: [7])
        let folder = TestFiles.path("shards")
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let devices = ["cpu", "opencl:0", "cpu", "opencl:0"]
        let hasOpenCL = ((try? DeviceCatalog().openCLDevices.count) ?? 0) > 0
        var shards: [String] = []
        for i in 0..<4 {
            let out = folder + "/shard\(i).safetensors"
            let run = try CommandRunner.saegeo(["neighbors", "--sae", dictionary.path, "-k", "6", "-o", out,
                                                "--shard", "\(i)/4", "--device", hasOpenCL ? devices[i] : "cpu"])
            #expect(run.status == 0, "\(run.stderr)")
            shards.append(out)
        }
        let single = folder + "/single.safetensors", merged = folder + "/merged.safetensors"
        #expect(try CommandRunner.saegeo(["neighbors", "--sae", dictionary.path, "-k", "6", "-o", single, "--device", "cpu"]).status == 0)
        let run = try CommandRunner.saegeo(["merge", "-o", merged] + shards.reversed())
        #expect(run.status == 0, "\(run.stderr)")
        let a = try SafetensorsContents(path: single), b = try SafetensorsContents(path: merged)
        for name in ["query_ids", "indices", "scores"] {
            #expect(a.tensors[name]?.bytes == b.tensors[name]?.bytes, "\(name)")
            #expect(a.tensors[name]?.shape == b.tensors[name]?.shape, "\(name)")
        }

        // Another job: same dictionary, another k.
        let foreign = folder + "/foreign.safetensors"
        #expect(try CommandRunner.saegeo(["neighbors", "--sae", dictionary.path, "-k", "5", "-o", foreign, "--shard", "3/4", "--device", "cpu"]).status == 0)
        for (files, expected) in [(Array(shards.prefix(3)), "missing"), (shards + [shards[0]], "twice"),
                                  (Array(shards.prefix(3)) + [foreign], "another job"), ([single], "not a shard")] {
            let out = folder + "/bad.safetensors"
            let bad = try CommandRunner.saegeo(["merge", "-o", out] + files)
            #expect(bad.status == 1 && bad.stderr.contains(expected), "\(bad.stderr)")
            #expect(!FileManager.default.fileExists(atPath: out))
        }
    }
}
