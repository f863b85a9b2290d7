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
        let hasOpenCL = TestBackends.hasOpenCL
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

    /// A generated job (planted SAE, activations of per-token samples, toxic ids) big enough that
    /// a shard runs for a while in blocks.
    static let example = ExampleJob.inTestFolder("shard-example", features: 2500, dimension: 96, samples: 1700, tokens: 3, seed: 3)

    func scoreArguments(_ output: String, toxic: String? = nil) -> [String] {
        // A small budget, for chunks of a few dozen samples: shards and blocks are whole chunks.
        ["score", "--sae", Self.example.saePath, "--toxic", toxic ?? Self.example.toxicPath,
         "--activations", Self.example.activationsPath, "--offsets", "offsets", "-o", output, "--memory-budget", "1MiB"]
    }

    @Test("4-way score shards merge into exactly the single-run file (jsonl with explanations, csv, safetensors)",
          arguments: ["jsonl", "csv", "safetensors"])
    func scoreMerge(_ ext: String) throws {
        let folder = TestFiles.path("score-shards-\(ext)")
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        // Scores are bit-identical across shards on one device (across devices they agree to 1e-5).
        let hasOpenCL = TestBackends.hasOpenCL
        let device = ext == "safetensors" && hasOpenCL ? "opencl:0" : "cpu"
        let explain = ext == "jsonl" ? ["--explain", "3"] : []
        var shards: [String] = []
        for i in 0..<4 {
            let out = folder + "/shard\(i).\(ext)"
            let run = try CommandRunner.saegeo(scoreArguments(out) + explain + ["--shard", "\(i)/4", "--device", device])
            #expect(run.status == 0, "\(run.stderr)")
            #expect(!FileManager.default.fileExists(atPath: out + ".checkpoint"), "the checkpoint is removed once the output is written")
            shards.append(out)
        }
        let single = folder + "/single.\(ext)", merged = folder + "/merged.\(ext)"
        // The dataset summary too, with other draws and seed than the defaults: merge --summary
        // writes the single run's from the sums beside the shards, byte for byte.
        let draws = ["--null-sets", "357", "--seed", "11"]
        let run = try CommandRunner.saegeo(scoreArguments(single) + explain + draws + ["--device", device, "--summary", folder + "/single.json"])
        #expect(run.status == 0, "\(run.stderr)")
        let merge = try CommandRunner.saegeo(["merge", "-o", merged, "--summary", folder + "/merged.json"] + draws + shards.reversed())
        #expect(merge.status == 0, "\(merge.stderr)")
        let a = try Data(contentsOf: URL(fileURLWithPath: single)), b = try Data(contentsOf: URL(fileURLWithPath: merged))
        #expect(a == b, "the merged file differs from the single run's")
        let summary = try Data(contentsOf: URL(fileURLWithPath: folder + "/single.json"))
        #expect(summary == (try Data(contentsOf: URL(fileURLWithPath: folder + "/merged.json"))), "the merged summary differs from the single run's")
        #expect(String(decoding: summary, as: UTF8.self).contains("\"null_sets\" : 357"))
        #expect(merge.stderr.contains("dataset: mean score") && run.stderr.contains("dataset: mean score"))
        #expect(try SampleScores.read(merged).count == Self.example.size.samples)

        // Another job: another toxic list.
        let otherToxic = try TestFiles.write("0\n1\n", to: "score-shards-toxic-\(ext).txt")
        let foreign = folder + "/foreign.\(ext)"
        #expect(try CommandRunner.saegeo(scoreArguments(foreign, toxic: otherToxic) + explain + ["--shard", "3/4", "--device", "cpu"]).status == 0)
        for (files, expected) in [(Array(shards.prefix(3)), "shard 3/4 is missing"), (shards + [shards[1]], "twice"),
                                  (Array(shards.prefix(3)) + [foreign], "another job"), ([single], "not a shard")] {
            let out = folder + "/bad.\(ext)"
            let bad = try CommandRunner.saegeo(["merge", "-o", out] + files)
            #expect(bad.status == 1 && bad.stderr.contains(expected), "\(bad.stderr)")
            #expect(!FileManager.default.fileExists(atPath: out))
        }
    }

    /// Starts a shard, stops it with SIGTERM once it has saved a block, and checks that it left a
    /// checkpoint and no output. SIGSTOP first, so that the shard cannot finish in between.
    func terminateMidRun(_ arguments: [String], output: String) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: CommandRunner.saegeo)
        process.arguments = arguments
        let err = Pipe()
        process.standardError = err
        try process.run()
        let checkpoint = output + ".checkpoint"
        let deadline = Date().addingTimeInterval(120)
        while process.isRunning, Date() < deadline,
              ((try? FileManager.default.contentsOfDirectory(atPath: checkpoint))?.filter { $0.hasPrefix("block-") }.count ?? 0) < 1 {
            usleep(1000)
        }
        kill(process.processIdentifier, SIGSTOP)
        let wasRunning = process.isRunning
        kill(process.processIdentifier, SIGTERM)
        kill(process.processIdentifier, SIGCONT)
        let started = Date()
        process.waitUntilExit()
        let stderr = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        #expect(wasRunning, "the shard finished before the signal: \(stderr)")
        #expect(process.terminationStatus != 0, "\(stderr)")
        #expect(Date().timeIntervalSince(started) < 10, "a stopped shard exits within seconds")
        #expect(stderr.contains("interrupted") && stderr.contains("saved in \(checkpoint)") && stderr.contains("run the same command again"), "\(stderr)")
        #expect(!FileManager.default.fileExists(atPath: output))
        #expect(FileManager.default.fileExists(atPath: checkpoint))
    }

    @Test("a neighbours query shard stopped by SIGTERM resumes and writes the uninterrupted output; a foreign checkpoint is ignored")
    func neighborsResume() throws {
        let folder = TestFiles.path("resume-neighbors")
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let sae = Self.example.saePath
        let out = folder + "/shard.safetensors", single = folder + "/single.safetensors"
        // Every feature as a --queries file: the query-sharded mode (all pairs of one dictionary
        // shard their tile pairs instead: SymmetricShardTests).
        let ids = try TestFiles.write((0..<Self.example.size.features).map(String.init).joined(separator: "\n"), to: "resume-neighbors-ids.txt")
        let arguments = ["neighbors", "--sae", sae, "--queries", ids, "-k", "7", "-o", out, "--shard", "1/2", "--device", "cpu"]
        try terminateMidRun(arguments, output: out)
        // Resumed on another device: still the same bits.
        let hasOpenCL = TestBackends.hasOpenCL
        let resumed = try CommandRunner.saegeo(Array(arguments.dropLast()) + [hasOpenCL ? "opencl:0" : "cpu"])
        #expect(resumed.status == 0 && resumed.stderr.contains("resuming from \(out).checkpoint"), "\(resumed.stderr)")
        #expect(!FileManager.default.fileExists(atPath: out + ".checkpoint"))
        let uninterrupted = folder + "/uninterrupted.safetensors"
        #expect(try CommandRunner.saegeo(["neighbors", "--sae", sae, "--queries", ids, "-k", "7", "-o", uninterrupted, "--shard", "1/2", "--device", "cpu"]).status == 0)
        let x = try SafetensorsContents(path: out), y = try SafetensorsContents(path: uninterrupted)
        for name in ["query_ids", "indices", "scores"] { #expect(x.tensors[name]?.bytes == y.tensors[name]?.bytes, "\(name)") }
        #expect(try CommandRunner.saegeo(["neighbors", "--sae", sae, "-k", "7", "-o", single, "--device", "cpu"]).status == 0)
        let half = Self.example.size.features / 2
        let a = try SafetensorsContents(path: out), b = try SafetensorsContents(path: single)
        #expect(a.tensors["indices"]!.bytes == Data(b.tensors["indices"]!.bytes.suffix((Self.example.size.features - half) * 7 * 8)))

        // A checkpoint of another job (here k = 6) is not used.
        try terminateMidRun(["neighbors", "--sae", sae, "--queries", ids, "-k", "6", "-o", out + "-other", "--shard", "1/2", "--device", "cpu"], output: out + "-other")
        try FileManager.default.removeItem(atPath: out)
        try FileManager.default.moveItem(atPath: out + "-other.checkpoint", toPath: out + ".checkpoint")
        let fresh = try CommandRunner.saegeo(arguments)
        #expect(fresh.status == 0 && fresh.stderr.contains("belongs to another job") && !fresh.stderr.contains("resuming"), "\(fresh.stderr)")
        #expect(try Data(contentsOf: URL(fileURLWithPath: out)) == Data(contentsOf: URL(fileURLWithPath: uninterrupted)))
    }

    @Test("a score shard stopped by SIGTERM resumes and writes the uninterrupted output", arguments: ["jsonl", "safetensors"])
    func scoreResume(_ ext: String) throws {
        let folder = TestFiles.path("resume-score-\(ext)")
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let out = folder + "/shard.\(ext)", uninterrupted = folder + "/uninterrupted.\(ext)"
        // With explanations (jsonl) and without (safetensors: the blocks' explanation tensors are empty).
        let explain = ext == "jsonl" ? ["--explain", "2"] : []
        let arguments = scoreArguments(out) + explain + ["--shard", "0/3", "--device", "cpu"]
        try terminateMidRun(arguments, output: out)
        let resumed = try CommandRunner.saegeo(arguments)
        #expect(resumed.status == 0 && resumed.stderr.contains("resuming from \(out).checkpoint"), "\(resumed.stderr)")
        let run = try CommandRunner.saegeo(scoreArguments(uninterrupted) + explain + ["--shard", "0/3", "--device", "cpu"])
        #expect(run.status == 0, "\(run.stderr)")
        #expect(try Data(contentsOf: URL(fileURLWithPath: out)) == Data(contentsOf: URL(fileURLWithPath: uninterrupted)))
        // The sums for merge --summary: the saved blocks' masses add up to the uninterrupted ones exactly.
        #expect(try Data(contentsOf: URL(fileURLWithPath: out + ".sums")) == Data(contentsOf: URL(fileURLWithPath: uninterrupted + ".sums")))
        if ext == "jsonl" {
            #expect(try Data(contentsOf: URL(fileURLWithPath: out + ".shard.json")) == Data(contentsOf: URL(fileURLWithPath: uninterrupted + ".shard.json")))
        }
    }

    @Test("merge --summary refuses shards without their sums, damaged or swapped sums, and other commands' shards, writing nothing")
    func mergeSummaryRefusals() throws {
        let folder = TestFiles.path("score-shards-summary-refusals")
        try? FileManager.default.removeItem(atPath: folder)
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let shards = try (0..<3).map { i -> String in
            let out = folder + "/shard\(i).jsonl"
            let run = try CommandRunner.saegeo(scoreArguments(out) + ["--shard", "\(i)/3", "--device", "cpu"])
            #expect(run.status == 0, "\(run.stderr)")
            return out
        }
        let out = folder + "/merged.jsonl", summary = folder + "/summary.json"
        func refused(_ expected: String, _ extra: [String] = []) throws {
            let run = try CommandRunner.saegeo(["merge", "-o", out] + extra + shards)
            #expect(run.status == 1 && run.stderr.contains(expected), "\(run.stderr)")
            #expect(!FileManager.default.fileExists(atPath: out) && !FileManager.default.fileExists(atPath: summary))
        }
        try refused("there is no --summary", ["--seed", "3"])
        let sums = ShardSums.path(besides: shards[1]), saved = try Data(contentsOf: URL(fileURLWithPath: sums))
        // Missing.
        try FileManager.default.removeItem(atPath: sums)
        try refused("has no \(sums) beside it", ["--summary", summary])
        // Damaged: one byte of a partial changed.
        var damaged = saved
        damaged[damaged.count - 9] ^= 0x40
        try damaged.write(to: URL(fileURLWithPath: sums))
        try refused("fails its checksum", ["--summary", summary])
        // Another shard's sums under this shard's name.
        try FileManager.default.copyItem(atPath: ShardSums.path(besides: shards[0]), toPath: sums + ".tmp")
        try FileManager.default.removeItem(atPath: sums)
        try FileManager.default.moveItem(atPath: sums + ".tmp", toPath: sums)
        try refused("belongs to another shard or job", ["--summary", summary])
        // The summary onto a shard's sums (an input) is refused before anything is read.
        try saved.write(to: URL(fileURLWithPath: sums))
        let onInput = try CommandRunner.saegeo(["merge", "-o", out, "--summary", sums] + shards)
        #expect(onInput.status != 0 && onInput.stderr.contains(sums), "\(onInput.stderr)")
        #expect(try Data(contentsOf: URL(fileURLWithPath: sums)) == saved)
        // Restored, it merges.
        let good = try CommandRunner.saegeo(["merge", "-o", out, "--summary", summary] + shards)
        #expect(good.status == 0 && FileManager.default.fileExists(atPath: summary), "\(good.stderr)")
        // Not score shards: --summary has nothing to summarise.
        let pairs = folder + "/pairs.safetensors"
        #expect(try CommandRunner.saegeo(["neighbors", "--sae", Self.example.saePath, "-k", "3", "-o", pairs, "--shard", "0/1", "--device", "cpu"]).status == 0)
        let notScore = try CommandRunner.saegeo(["merge", "-o", folder + "/n.safetensors", "--summary", summary, pairs])
        #expect(notScore.status == 1 && notScore.stderr.contains("drop --summary"), "\(notScore.stderr)")
        // score --shard with --summary says where the summary comes from.
        let shardSummary = try CommandRunner.saegeo(scoreArguments(folder + "/x.jsonl") + ["--shard", "0/3", "--summary", summary])
        #expect(shardSummary.status == 1 && shardSummary.stderr.contains("merge --summary"), "\(shardSummary.stderr)")
    }
}
