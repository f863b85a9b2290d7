import Foundation
import Testing
@testable import SaegeoCore

/// `saegeo neighbors --sae A --keys-sae B` as a user runs it: the files it writes (neighbours and
/// `--mutual` pairs) against the float64 reference on cpu and opencl:0, the refusals, and 2 shards
/// merged into exactly the single run's file.
@Suite(.serialized)
struct CrossDictionaryCommandTests {
    static let pair = try! CrossDictionaryTests.Pair(seed: 78, name: "cross-command")
    static let hasOpenCL = TestBackends.hasOpenCL
    static let devices = ["cpu"] + (hasOpenCL ? ["opencl:0"] : [])

    static func arguments(_ output: String, k: Int = 4, b: String? = nil) -> [String] {
        ["neighbors", "--sae", pair.pathA, "--keys-sae", b ?? pair.pathB, "--keys-tensor", "dec", "--keys-layout", "columns",
         "-k", String(k), "-o", output]
    }

    static func folder(_ name: String) throws -> String {
        let folder = TestFiles.path(name)
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        return folder
    }

    @Test("the files match the reference on every device; mutual pairs as csv and safetensors")
    func filesMatchReference() throws {
        let folder = try Self.folder("cross-files"), pair = Self.pair
        let queries = Array(0..<CrossDictionaryTests.Pair.featuresA), keys = Array(0..<CrossDictionaryTests.Pair.featuresB)
        let reference = pair.reference(queries: queries, keys: keys, k: 4)
        let pairs = pair.referencePairs(queries: queries, keys: keys)
        let live = queries.filter { CrossDictionaryTests.Pair.live(pair.a, $0) }.count
        var first: SafetensorsContents?
        for device in Self.devices {
            let out = folder + "/\(device).safetensors", csv = folder + "/\(device)-pairs.csv"
            let st = folder + "/\(device)-pairs.safetensors"
            var run = try CommandRunner.saegeo(Self.arguments(out) + ["--device", device, "--mutual", csv, "--min-cosine", "0.9"])
            #expect(run.status == 0, "\(run.stderr)")
            // Counts first, then the shares as percentages (issue 22: "1.0000 of the 4096 live queries are in one").
            let fraction = String(format: "%d of the %d live queries (%.2f%%) have a mutual partner", pairs.count, live,
                                  100 * Double(pairs.count) / Double(live))
            #expect(run.stderr.contains("mutual nearest pairs: \(pairs.count), so \(fraction)"), "\(run.stderr)")
            let above = pairs.filter { $0.cosine >= 0.9 }.count
            #expect(run.stderr.contains(String(format: "; %d (%.2f%%) with cosine >= 0.9", above, 100 * Double(above) / Double(live))), "\(run.stderr)")
            let file = try SafetensorsContents(path: out)
            #expect(file.int64("query_ids") == queries.map(Int64.init))
            #expect(file.int64("indices") == reference.indices, "\(device)")
            #expect(CrossDictionaryTests.worstDifference(file.float32("scores"), reference.scores) <= 1e-6, "\(device)")
            #expect(file.metadata["saegeo.keys_sae"] == pair.pathB && file.metadata["saegeo.keys_dtype"] == "BF16")
            #expect(file.metadata["saegeo.keys_d_sae"] == "61" && file.metadata["saegeo.d_sae"] == "37")
            if let first {
                for name in ["indices", "scores"] { #expect(first.tensors[name]?.bytes == file.tensors[name]?.bytes, "\(device) \(name)") }
            } else {
                first = file
            }
            let lines = try String(contentsOfFile: csv, encoding: .utf8).split(separator: "\n").map(String.init)
            let written = try MutualPairsFile.format(of: csv)
            #expect(written == .csv && lines.first == "a,b,cosine" && lines.count == pairs.count + 1)
            for (line, expected) in zip(lines.dropFirst(), pairs) {
                let fields = line.split(separator: ",")
                #expect(fields.count == 3 && Int64(fields[0]) == expected.a && Int64(fields[1]) == expected.b, "\(line)")
                #expect(abs((Float(fields[2]) ?? .nan) - expected.cosine) <= 1e-6, "\(line)")
            }

            run = try CommandRunner.saegeo(Self.arguments(folder + "/\(device)-2.safetensors") + ["--device", device, "--mutual", st])
            #expect(run.status == 0, "\(run.stderr)")
            let stored = try SafetensorsContents(path: st)
            #expect(stored.tensors["a"]?.dtype == "I64" && stored.tensors["b"]?.dtype == "I64" && stored.tensors["cosine"]?.dtype == "F32")
            #expect(stored.int64("a") == pairs.map(\.a) && stored.int64("b") == pairs.map(\.b))
            #expect(CrossDictionaryTests.worstDifference(stored.float32("cosine"), pairs.map(\.cosine)) <= 1e-6)
        }
    }

    @Test("query and key subsets by id files: B's ids, checked against B's size")
    func subsets() throws {
        let folder = try Self.folder("cross-subsets"), pair = Self.pair
        let queries = [5, 3, 9, 30, 6], keys = [4, 10, 20, 0, 60, 50, 13]
        let queryFile = try TestFiles.write(queries.map(String.init).joined(separator: "\n"), to: "cross-queries.txt")
        let keyFile = try TestFiles.write("# of B\n" + keys.map(String.init).joined(separator: "\n"), to: "cross-keys.txt")
        let out = folder + "/subset.safetensors"
        let run = try CommandRunner.saegeo(Self.arguments(out, k: 6) + ["--queries", queryFile, "--keys", keyFile, "--device", Self.devices.last!])
        #expect(run.status == 0, "\(run.stderr)")
        let file = try SafetensorsContents(path: out), reference = pair.reference(queries: queries, keys: keys, k: 6)
        #expect(file.int64("indices") == reference.indices)
        #expect(CrossDictionaryTests.worstDifference(file.float32("scores"), reference.scores) <= 1e-6)
        // Id 60 exists in B (61 features) though not in A (37): keys are B's ids.
        let outOfB = try TestFiles.write("61\n", to: "cross-keys-bad.txt")
        let bad = try CommandRunner.saegeo(Self.arguments(folder + "/bad.safetensors") + ["--keys", outOfB, "--device", "cpu"])
        #expect(bad.status == 1 && !FileManager.default.fileExists(atPath: folder + "/bad.safetensors"), "\(bad.stderr)")
    }

    @Test("refusals: another d_model, options without --keys-sae, --mutual with --shard or another extension")
    func refusals() throws {
        let folder = try Self.folder("cross-refusals")
        let other = folder + "/other.npy"
        try CheckpointBytes.write(CheckpointBytes.npy(descr: "<f2", shape: [15, 11],
                                                      payload: CheckpointBytes.encode((0..<165).map { Float($0 % 13) - 6 }, as: "F16")), to: other)
        let out = folder + "/out.safetensors"
        let cases: [([String], String)] = [
            (["neighbors", "--sae", Self.pair.pathA, "--keys-sae", other, "-k", "3", "-o", out, "--device", "cpu"], "d_model"),
            (["neighbors", "--sae", Self.pair.pathA, "--keys-tensor", "dec", "-k", "3", "-o", out], "--keys-sae"),
            (["neighbors", "--sae", Self.pair.pathA, "--mutual", folder + "/p.csv", "-k", "3", "-o", out], "--keys-sae"),
            (Self.arguments(out) + ["--mutual", folder + "/p.csv", "--shard", "0/2"], "--shard"),
            (Self.arguments(out) + ["--mutual", folder + "/p.jsonl"], ".csv"),
            (Self.arguments(out) + ["--mutual", out], "give each output its own file"),
        ]
        for (arguments, expected) in cases {
            let run = try CommandRunner.saegeo(arguments)
            let lines = run.stderr.split(separator: "\n")
            #expect(run.status == 1 && lines.count == 1 && run.stderr.contains(expected), "\(arguments): \(run.stderr)")
            #expect(!FileManager.default.fileExists(atPath: out) && !FileManager.default.fileExists(atPath: folder + "/p.csv"))
        }
        let mismatch = try CommandRunner.saegeo(cases[0].0)
        #expect(mismatch.stderr.contains(Self.pair.pathA) && mismatch.stderr.contains(other), "names both: \(mismatch.stderr)")
    }

    @Test("2 shards merge byte for byte into the single run; a shard of another B is another job")
    func shardsMerge() throws {
        let folder = try Self.folder("cross-shards")
        var shards: [String] = []
        for i in 0..<2 {
            let out = folder + "/shard\(i).safetensors"
            // Each shard on its own device: the merged file still equals the single cpu run's.
            let device = Self.devices[i % Self.devices.count]
            let run = try CommandRunner.saegeo(Self.arguments(out, k: 7) + ["--shard", "\(i)/2", "--device", device])
            #expect(run.status == 0, "\(run.stderr)")
            shards.append(out)
        }
        let single = folder + "/single.safetensors", merged = folder + "/merged.safetensors"
        #expect(try CommandRunner.saegeo(Self.arguments(single, k: 7) + ["--device", "cpu"]).status == 0)
        let run = try CommandRunner.saegeo(["merge", "-o", merged] + shards.reversed())
        #expect(run.status == 0, "\(run.stderr)")
        let a = try SafetensorsContents(path: single), b = try SafetensorsContents(path: merged)
        for name in ["query_ids", "indices", "scores"] { #expect(a.tensors[name]?.bytes == b.tensors[name]?.bytes, "\(name)") }
        if !Self.hasOpenCL {
            #expect(try Data(contentsOf: URL(fileURLWithPath: single)) == Data(contentsOf: URL(fileURLWithPath: merged)))
        }
        // All on cpu: the whole file, metadata included.
        var cpuShards: [String] = []
        for i in 0..<2 {
            let out = folder + "/cpu-shard\(i).safetensors"
            #expect(try CommandRunner.saegeo(Self.arguments(out, k: 7) + ["--shard", "\(i)/2", "--device", "cpu"]).status == 0)
            cpuShards.append(out)
        }
        #expect(try CommandRunner.saegeo(["merge", "-o", folder + "/cpu-merged.safetensors"] + cpuShards).status == 0)
        #expect(try Data(contentsOf: URL(fileURLWithPath: single)) == Data(contentsOf: URL(fileURLWithPath: folder + "/cpu-merged.safetensors")))

        // The same job but another B (same shape, other values): its shard is foreign.
        let otherB = try CrossDictionaryTests.Pair(seed: 79, name: "cross-command-other").pathB
        let foreign = folder + "/foreign.safetensors"
        #expect(try CommandRunner.saegeo(Self.arguments(foreign, k: 7, b: otherB) + ["--shard", "1/2", "--device", "cpu"]).status == 0)
        let bad = try CommandRunner.saegeo(["merge", "-o", folder + "/bad.safetensors", shards[0], foreign])
        #expect(bad.status == 1 && bad.stderr.contains("another job"), "\(bad.stderr)")
        #expect(!FileManager.default.fileExists(atPath: folder + "/bad.safetensors"))
    }
}
