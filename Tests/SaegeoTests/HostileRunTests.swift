import Foundation
import Testing
@testable import SaegeoCore

/// The job layer's promises while a job runs, tested as a hostile user would break them: signals,
/// SIGKILL, inputs truncated mid-run, damaged checkpoint blocks and shards.
@Suite(.serialized)
struct HostileRunTests: HostileSuite {
    // MARK: signals and truncation

    @Test("Ctrl-C during the dataset summary's 100000 draws stops the run within a second: exit 75, no output")
    func interruptTheSummaryDraws() throws {
        let folder = try Self.folder("interrupt-summary")
        let job = ExampleJob.inTestFolder("interrupt-summary-job", features: 4096, dimension: 32, samples: 4000, tokens: 2, seed: 9)
        let out = folder + "/scores.jsonl", summary = folder + "/summary.json", log = folder + "/../interrupt-summary.log"
        FileManager.default.createFile(atPath: log, contents: nil)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: CommandRunner.saegeo)
        process.arguments = ["score", "--sae", job.saePath, "--toxic", job.toxicPath, "--activations", job.activationsPath,
                             "--offsets", "offsets", "-o", out, "--summary", summary, "--null-sets", "100000", "--device", "cpu"]
        process.standardError = FileHandle(forWritingAtPath: log)
        try process.run()
        // The line score prints before the draws; then the draws run for seconds.
        let deadline = Date().addingTimeInterval(120)
        func drawing() -> Bool { (try? String(contentsOfFile: log, encoding: .utf8))?.contains("dataset summary:") ?? false }
        while process.isRunning, Date() < deadline, !drawing() { usleep(1000) }
        usleep(200_000)
        let stillDrawing = process.isRunning
        let signalled = Date()
        kill(process.processIdentifier, SIGINT)
        process.waitUntilExit()
        let took = Date().timeIntervalSince(signalled)
        let stderr = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
        #expect(stillDrawing, "the run ended before the signal: \(stderr)")
        #expect(took < 1, "it stopped \(took) s after the signal")
        #expect(process.terminationStatus == 75 && stderr.contains("interrupted"), "\(process.terminationStatus): \(stderr)")
        #expect(Self.listing(folder).isEmpty, "\(Self.listing(folder))")
    }

    @Test("SIGTERM, SIGINT and SIGHUP stop filter and score mid-write: exit 75, no output, no temporary")
    func signalsLeaveNothing() throws {
        let folder = try Self.folder("signals")
        let scores = folder + "/scores.safetensors", dataset = folder + "/big.jsonl"
        let samples = 3_000_000
        try SafetensorsWriter.write([.float32("scores", shape: [samples], (0..<samples).map { Float($0 % 997) })], metadata: [:], to: scores)
        let line = "{\"text\": \"" + String(repeating: "x", count: 200) + "\"}\n"
        FileManager.default.createFile(atPath: dataset, contents: nil)
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: dataset))
        let block = Data(String(repeating: line, count: 10_000).utf8)
        for _ in 0..<(samples / 10_000) { try handle.write(contentsOf: block) }
        try handle.close()
        let kept = folder + "/kept.jsonl"
        for signal in [SIGTERM, SIGINT, SIGHUP] {
            let run = try Self.interfere(["filter", "--scores", scores, "--drop-fraction", "0.5", "--dataset", dataset, "-o", kept,
                                          "--dropped", folder + "/dropped.txt"],
                                         ready: { Self.opened($0, dataset) }, act: { kill($0, signal) })
            if run.interfered {
                #expect(run.status == 75 && run.stderr.contains("interrupted"), "signal \(signal): \(run.stderr)")
                #expect(Self.listing(folder) == ["big.jsonl", "scores.safetensors"], "signal \(signal): \(Self.listing(folder))")
            }
        }
        // Score with a deflated Gemma Scope-style npz SAE, whose inflation file lives in TMPDIR.
        let temporary = try Self.folder("signals-tmpdir")
        let out = folder + "/scores.jsonl"
        let npz = try Self.gemmaScopeCopy(folder + "/params.npz")
        let run = try Self.interfere(scoreArguments(out).map { $0 == Self.example.saePath ? npz : $0 }, environment: ["TMPDIR": temporary],
                                     ready: { Self.maps($0, "activations.safetensors") }, act: { kill($0, SIGTERM) })
        if run.interfered {
            #expect(run.status == 75 && run.stderr.contains("interrupted"), "\(run.stderr)")
            #expect(!FileManager.default.fileExists(atPath: out))
        }
        #expect(Self.listing(temporary).isEmpty)
        #expect(!Self.listing(folder).contains { $0.contains("partial") })
    }

    @Test("SIGKILL mid-run leaves no temporary in the output folder (unnamed temporaries)")
    func killLeavesNothing() throws {
        let folder = try Self.folder("sigkill")
        let dictionary = try TestDictionary.make(features: 6000, dimension: 96, seed: 4)
        let run = try Self.interfere(["neighbors", "--sae", dictionary.path, "-k", "8", "-o", folder + "/n.safetensors", "--device", "cpu"],
                                     ready: { Self.maps($0, dictionary.path) }, act: { kill($0, SIGKILL) })
        #expect(run.status != 0 || !run.interfered)
        #expect(Self.listing(folder).allSatisfy { $0 == "n.safetensors" } && (run.interfered ? Self.listing(folder).isEmpty : true),
                "\(Self.listing(folder))")
    }

    @Test("an input truncated while it is read ends the run with one line, not SIGBUS", arguments: ["cpu", "opencl:0"])
    func truncatedMidRun(_ device: String) throws {
        if device.hasPrefix("opencl"), !TestBackends.hasOpenCL { return }
        let folder = try Self.folder("truncated-\(device)")
        let source = try TestDictionary.make(features: 9000, dimension: 128, seed: 8)
        let dictionary = folder + "/dict.npy"
        try FileManager.default.copyItem(atPath: source.path, toPath: dictionary)
        let run = try Self.interfere(["neighbors", "--sae", dictionary, "-k", "8", "-o", folder + "/n.safetensors", "--device", device],
                                     ready: { Self.maps($0, dictionary) }, act: { _ in truncate(dictionary, 4096) })
        if run.interfered {
            #expect(run.status == 1, "\(run.stderr)")
            #expect(run.stderr.split(separator: "\n").count == 1 && run.stderr.contains("became shorter"), "\(run.stderr)")
            #expect(!FileManager.default.fileExists(atPath: folder + "/n.safetensors"))
        }
        // Score: the activations truncated under a running scorer.
        let activations = folder + "/acts.safetensors"
        try FileManager.default.copyItem(atPath: Self.example.activationsPath, toPath: activations)
        let scored = try Self.interfere(scoreArguments(folder + "/s.jsonl").map { $0 == Self.example.activationsPath ? activations : $0 == "cpu" ? device : $0 },
                                        ready: { Self.maps($0, activations) }, act: { _ in truncate(activations, 20_000) })
        if scored.interfered {
            #expect(scored.status == 1 && scored.stderr.split(separator: "\n").count == 1, "\(scored.stderr)")
            #expect(!scored.stderr.contains("Backtrace") && !FileManager.default.fileExists(atPath: folder + "/s.jsonl"))
        }
    }

    // MARK: checkpoints and shards

    /// Interrupts a neighbours shard once it has saved a block; returns its arguments.
    func checkpointed(_ folder: String, k: Int, output: String) throws -> [String] {
        let arguments = ["neighbors", "--sae", Self.example.saePath, "-k", String(k), "-o", output, "--shard", "0/2", "--device", "cpu"]
        let run = try Self.interfere(arguments, ready: { _ in ((try? FileManager.default.contentsOfDirectory(atPath: output + ".checkpoint"))?.filter { $0.hasPrefix("block-") }.count ?? 0) >= 2 },
                                     act: { kill($0, SIGTERM) })
        #expect(run.interfered && run.status == 75, "\(run.stderr)")
        return arguments
    }

    @Test("a damaged, re-ranged or relabelled checkpoint block is recomputed, and the output is still exact")
    func damagedCheckpointBlocks() throws {
        let folder = try Self.folder("damaged-blocks")
        let reference = folder + "/reference.safetensors"
        #expect(try CommandRunner.saegeo(["neighbors", "--sae", Self.example.saePath, "-k", "5", "-o", reference, "--shard", "0/2", "--device", "cpu"]).status == 0)
        let foreignOut = folder + "/foreign.safetensors"
        _ = try checkpointed(folder, k: 4, output: foreignOut)
        let foreignBlock = foreignOut + ".checkpoint/block-000000000000.safetensors"

        let damage: [(String, (String) throws -> Void)] = [
            ("flipped byte", { block in
                var bytes = [UInt8](try #require(Self.contents(block)))
                bytes[bytes.count - 3] ^= 0x40
                try Data(bytes).write(to: URL(fileURLWithPath: block))
            }),
            ("edited range", { block in
                let file = try SafetensorsFile(path: block)
                var metadata = file.metadata
                metadata["saegeo.block"] = "0..<3"
                try SafetensorsWriter.write(try OutputTensor.all(in: file), metadata: metadata, to: block)
            }),
            ("relabelled foreign block", { block in
                let file = try SafetensorsFile(path: foreignBlock)
                var metadata = file.metadata
                metadata["saegeo.job"] = try SafetensorsFile(path: block).metadata["saegeo.job"]
                try SafetensorsWriter.write(try OutputTensor.all(in: file), metadata: metadata, to: block)
            }),
        ]
        for (name, act) in damage {
            let out = folder + "/out.safetensors"
            try? FileManager.default.removeItem(atPath: out)
            let arguments = try checkpointed(folder, k: 5, output: out)
            try act(out + ".checkpoint/block-000000000000.safetensors")
            let resumed = try CommandRunner.saegeo(arguments)
            #expect(resumed.status == 0 && resumed.stderr.contains("cannot be used"), "\(name): \(resumed.stderr)")
            let a = try SafetensorsContents(path: out), b = try SafetensorsContents(path: reference)
            for tensor in ["query_ids", "indices", "scores"] { #expect(a.tensors[tensor]?.bytes == b.tensors[tensor]?.bytes, "\(name): \(tensor)") }
        }
    }

    @Test("merge refuses a damaged shard, an edited sample id and an edited range, naming the file")
    func damagedShards() throws {
        let folder = try Self.folder("damaged-shards")
        var neighbours: [String] = [], scores: [String] = [], csv: [String] = []
        for i in 0..<3 {
            neighbours.append(folder + "/n\(i).safetensors")
            #expect(try CommandRunner.saegeo(["neighbors", "--sae", Self.example.saePath, "-k", "3", "-o", neighbours[i], "--shard", "\(i)/3", "--device", "cpu"]).status == 0)
            scores.append(folder + "/s\(i).jsonl")
            #expect(try CommandRunner.saegeo(scoreArguments(scores[i], extra: ["--shard", "\(i)/3", "--memory-budget", "1MiB"])).status == 0)
            csv.append(folder + "/c\(i).csv")
            #expect(try CommandRunner.saegeo(scoreArguments(csv[i], extra: ["--shard", "\(i)/3", "--memory-budget", "1MiB"])).status == 0)
        }
        let out = folder + "/merged"
        #expect(try CommandRunner.saegeo(["merge", "-o", out + ".jsonl"] + scores).status == 0)
        try FileManager.default.removeItem(atPath: out + ".jsonl")

        func edit(_ path: String, _ change: (inout String) -> Void) throws -> Data {
            let original = try #require(Self.contents(path))
            var text = String(decoding: original, as: UTF8.self)
            change(&text)
            try Data(text.utf8).write(to: URL(fileURLWithPath: path))
            return original
        }
        // A flipped byte in a safetensors shard's scores.
        var bytes = [UInt8](try #require(Self.contents(neighbours[1])))
        let original = Data(bytes)
        bytes[bytes.count - 5] ^= 0x01
        try Data(bytes).write(to: URL(fileURLWithPath: neighbours[1]))
        Self.expectOneLineError(try CommandRunner.saegeo(["merge", "-o", out + ".safetensors"] + neighbours), neighbours[1], "checksum")
        try original.write(to: URL(fileURLWithPath: neighbours[1]))
        // An edited sample id (and its checksum left alone, or the checksum "fixed" by a careless edit).
        let saved = try edit(scores[1]) { text in
            let first = text.prefix { $0 != "\n" }
            let number = Int(first.split(separator: ",")[0].split(separator: " ")[1])!
            text = text.replacingOccurrences(of: "{\"sample\": \(number),", with: "{\"sample\": \(number + 1),")
        }
        Self.expectOneLineError(try CommandRunner.saegeo(["merge", "-o", out + ".jsonl"] + scores), scores[1])
        try saved.write(to: URL(fileURLWithPath: scores[1]))
        // An edited range in a manifest.
        let manifest = csv[2] + ".shard.json"
        let savedManifest = try edit(manifest) { $0 = $0.replacingOccurrences(of: "\"saegeo.range\" : \"", with: "\"saegeo.range\" : \"1") }
        Self.expectOneLineError(try CommandRunner.saegeo(["merge", "-o", out + ".csv"] + csv))
        try savedManifest.write(to: URL(fileURLWithPath: manifest))
        // A csv shard whose lines are swapped keeps its line count but not its order.
        let savedCSV = try edit(csv[0]) { text in
            var lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
            lines.swapAt(1, 2)
            text = lines.joined(separator: "\n")
        }
        Self.expectOneLineError(try CommandRunner.saegeo(["merge", "-o", out + ".csv"] + csv), csv[0])
        try savedCSV.write(to: URL(fileURLWithPath: csv[0]))
        #expect(!Self.listing(folder).contains { $0.hasPrefix("merged") })
        #expect(try CommandRunner.saegeo(["merge", "-o", out + ".csv"] + csv).status == 0)
    }
}
