import Foundation
import Testing
@testable import SaegeoCore

/// The job layer's promises, tested as a hostile user would break them: outputs that are inputs,
/// special files, full disks, signals, damaged checkpoints and shards, FIFOs, truncation mid-run,
/// non-finite activations. Special files (FIFOs, device nodes, a full tmpfs) are made in a
/// temporary folder, never taken from the real /dev.
@Suite(.serialized)
struct HostileJobTests {
    /// A small generated job (SAELens SAE, activations with offsets, toxic ids, dataset lines).
    static let example: ExampleJob = {
        var size = ExampleJob.Size()
        size.features = 700
        size.dimension = 48
        size.samples = 400
        size.tokens = 3
        return try! ExampleJob.write(size, seed: 11, to: TestFiles.path("hostile-example"))
    }()

    /// Linux's device number (glibc's makedev is a macro Swift does not import).
    static func device(_ major: UInt64, _ minor: UInt64) -> dev_t {
        dev_t((minor & 0xff) | ((major & 0xfff) << 8) | ((minor & ~0xff) << 12) | ((major & ~0xfff) << 32))
    }

    /// A fresh, empty folder for one test.
    static func folder(_ name: String) throws -> String {
        let path = TestFiles.path("hostile-\(name)")
        try? FileManager.default.removeItem(atPath: path)
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    static func contents(_ path: String) -> Data? { FileManager.default.contents(atPath: path) }
    static func listing(_ folder: String) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []).sorted()
    }

    /// A failed run: non-zero status, one line on stderr, no backtrace.
    static func expectOneLineError(_ run: CommandRunner.Outcome, _ words: String..., sourceLocation: SourceLocation = #_sourceLocation) {
        let lines = run.stderr.split(separator: "\n")
        #expect(run.status != 0, "exit 0: \(run.stderr)", sourceLocation: sourceLocation)
        #expect(lines.count == 1 && run.stderr.hasPrefix("saegeo: error: "), "not one error line: \(run.stderr)", sourceLocation: sourceLocation)
        #expect(!run.stderr.contains("Backtrace") && !run.stderr.contains("Fatal error"), "\(run.stderr)", sourceLocation: sourceLocation)
        for word in words { #expect(run.stderr.contains(word), "'\(word)' not in: \(run.stderr)", sourceLocation: sourceLocation) }
    }

    func scoreArguments(_ output: String, extra: [String] = []) -> [String] {
        ["score", "--sae", Self.example.saePath, "--toxic", Self.example.toxicPath, "--activations", Self.example.activationsPath,
         "--offsets", "offsets", "-o", output, "--device", "cpu", "--null-sets", "3"] + extra
    }

    // MARK: paths

    @Test("an output that is an input (directly, through a symlink, '..' or a hard link) is refused and the input survives")
    func outputIsInput() throws {
        let folder = try Self.folder("output-is-input")
        let activations = Self.example.activationsPath, before = Self.contents(activations)
        let link = folder + "/link.safetensors", hard = folder + "/hard.safetensors"
        try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: activations)
        try FileManager.default.linkItem(atPath: activations, toPath: hard)
        let dotted = (activations as NSString).deletingLastPathComponent + "/../hostile-example/activations.safetensors"
        for target in [activations, link, dotted, hard] {
            Self.expectOneLineError(try CommandRunner.saegeo(scoreArguments(target)), "is the input")
        }
        let weights = Self.example.saePath + "/sae_weights.safetensors", weightsBefore = Self.contents(weights)
        Self.expectOneLineError(try CommandRunner.saegeo(["neighbors", "--sae", Self.example.saePath, "-k", "3", "-o", weights, "--device", "cpu"]), "is the input")
        let scores = folder + "/scores.jsonl"
        #expect(try CommandRunner.saegeo(scoreArguments(scores)).status == 0)
        let dataset = folder + "/dataset.jsonl"
        try FileManager.default.copyItem(atPath: Self.example.datasetPath, toPath: dataset)
        Self.expectOneLineError(try CommandRunner.saegeo(["filter", "--scores", scores, "--drop-fraction", "0.1", "--dataset", dataset, "-o", dataset]), "is the input")
        Self.expectOneLineError(try CommandRunner.saegeo(["filter", "--scores", scores, "--drop-fraction", "0.1", "--dropped", scores]), "is the input")
        #expect(Self.contents(activations) == before && Self.contents(weights) == weightsBefore)
        #expect(Self.contents(dataset) == Self.contents(Self.example.datasetPath))
    }

    @Test("two outputs that are one file are refused before any work")
    func outputsCollide() throws {
        let folder = try Self.folder("outputs-collide")
        let out = folder + "/out.jsonl"
        Self.expectOneLineError(try CommandRunner.saegeo(scoreArguments(out, extra: ["--summary", folder + "/./out.jsonl"])), "is also")
        Self.expectOneLineError(try CommandRunner.saegeo(["filter", "--scores", out, "--drop-fraction", "0.1", "--dataset", Self.example.datasetPath,
                                                          "-o", folder + "/x", "--dropped", folder + "/x"]), "is also")
        #expect(Self.listing(folder).isEmpty)
    }

    @Test("special targets: a null device is written in place, a full one fails, FIFOs and folders are refused; '-o x' works; a replaced file keeps its mode")
    func specialTargets() throws {
        let folder = try Self.folder("special-targets")
        let null = folder + "/null", full = folder + "/full", fifo = folder + "/fifo"
        #expect(mknod(null, S_IFCHR | 0o666, Self.device(1, 3)) == 0 && mknod(full, S_IFCHR | 0o666, Self.device(1, 7)) == 0, "mknod needs root")
        #expect(mkfifo(fifo, 0o644) == 0)
        let toNull = try CommandRunner.saegeo(scoreArguments(null))
        #expect(toNull.status == 0, "\(toNull.stderr)")
        var info = stat()
        #expect(stat(null, &info) == 0 && (info.st_mode & S_IFMT) == S_IFCHR, "the device node was replaced")
        Self.expectOneLineError(try CommandRunner.saegeo(scoreArguments(full)), "No space left")
        Self.expectOneLineError(try CommandRunner.saegeo(scoreArguments(fifo)), "FIFO")
        Self.expectOneLineError(try CommandRunner.saegeo(scoreArguments(folder)), "folder")
        #expect(Self.listing(folder) == ["fifo", "full", "null"], "\(Self.listing(folder))")

        // A one-character relative path, run from the folder.
        let short = try CommandRunner.saegeo(["neighbors", "--sae", Self.example.saePath, "-k", "2", "-o", "x", "--device", "cpu"], directory: folder)
        #expect(short.status == 0, "\(short.stderr)")
        #expect(try SafetensorsContents(path: folder + "/x").tensors["indices"]?.shape == [700, 2])

        // A replaced output keeps its mode.
        let out = folder + "/kept.jsonl"
        #expect(try CommandRunner.saegeo(scoreArguments(out)).status == 0)
        chmod(out, 0o640)
        #expect(try CommandRunner.saegeo(scoreArguments(out)).status == 0)
        #expect(stat(out, &info) == 0 && info.st_mode & 0o777 == 0o640, "mode \(String(info.st_mode & 0o777, radix: 8))")
    }

    @Test("all or nothing: when one output cannot be written (full tmpfs, full device), none appears and no temporary is left")
    func allOrNothing() throws {
        let folder = try Self.folder("all-or-nothing")
        let mount = folder + "/tiny"
        try FileManager.default.createDirectory(atPath: mount, withIntermediateDirectories: true)
        let mounted = try CommandRunner.run("/bin/mount", ["-t", "tmpfs", "-o", "size=4k", "tmpfs", mount])
        #expect(mounted.status == 0, "mount needs root: \(mounted.stderr)")
        defer { _ = try? CommandRunner.run("/bin/umount", [mount]) }
        // Fill the tmpfs so that even a small file cannot be written.
        _ = try CommandRunner.run("/bin/sh", ["-c", "cat /dev/zero > \(mount)/filler 2>/dev/null; true"])
        let out = folder + "/scores.jsonl"
        Self.expectOneLineError(try CommandRunner.saegeo(scoreArguments(out, extra: ["--summary", mount + "/summary.json"])), "summary.json")
        #expect(Self.listing(folder) == ["tiny"], "\(Self.listing(folder))")
        #expect(Self.listing(mount) == ["filler"], "\(Self.listing(mount))")
        let full = folder + "/full"
        #expect(mknod(full, S_IFCHR | 0o666, Self.device(1, 7)) == 0)
        Self.expectOneLineError(try CommandRunner.saegeo(scoreArguments(out, extra: ["--summary", full])), "No space left")
        #expect(!FileManager.default.fileExists(atPath: out))
        let dropped = folder + "/dropped.txt"
        #expect(try CommandRunner.saegeo(scoreArguments(out)).status == 0)
        Self.expectOneLineError(try CommandRunner.saegeo(["filter", "--scores", out, "--drop-fraction", "0.2", "--dataset", Self.example.datasetPath,
                                                          "-o", mount + "/kept.jsonl", "--dropped", dropped]))
        #expect(!FileManager.default.fileExists(atPath: dropped))
        #expect(Self.listing(folder).sorted() == ["full", "scores.jsonl", "tiny"], "\(Self.listing(folder))")
    }

    // MARK: inputs

    @Test("a FIFO given as any input is refused at once, never read")
    func fifoInputs() throws {
        let folder = try Self.folder("fifo-inputs")
        let fifo = folder + "/pipe.npy", fifoText = folder + "/pipe.jsonl", fifoSafetensors = folder + "/pipe.safetensors"
        for path in [fifo, fifoText, fifoSafetensors] { #expect(mkfifo(path, 0o644) == 0) }
        let scores = folder + "/scores.jsonl"
        #expect(try CommandRunner.saegeo(scoreArguments(scores)).status == 0)
        let cases: [[String]] = [
            ["neighbors", "--sae", fifo, "-k", "2", "-o", folder + "/n.safetensors"],
            ["neighbors", "--sae", Self.example.saePath, "--queries", fifoText, "-k", "2", "-o", folder + "/n.safetensors"],
            scoreArguments(folder + "/s.jsonl").map { $0 == Self.example.activationsPath ? fifoSafetensors : $0 },
            scoreArguments(folder + "/s.jsonl").map { $0 == Self.example.toxicPath ? fifoText : $0 },
            ["filter", "--scores", scores, "--drop-fraction", "0.1", "--dataset", fifoText, "-o", folder + "/kept.jsonl"],
            ["filter", "--scores", fifoText, "--drop-fraction", "0.1", "--dropped", folder + "/d.txt"],
            ["merge", "-o", folder + "/m.jsonl", fifoText],
        ]
        for arguments in cases {
            let started = Date()
            let run = try CommandRunner.saegeo(arguments)
            Self.expectOneLineError(run, "FIFO")
            #expect(Date().timeIntervalSince(started) < 30)
        }
        // A character device (our own urandom node) as the dataset is refused too: it never ends.
        let random = folder + "/urandom"
        #expect(mknod(random, S_IFCHR | 0o666, Self.device(1, 9)) == 0)
        Self.expectOneLineError(try CommandRunner.saegeo(["filter", "--scores", scores, "--drop-fraction", "0.1", "--dataset", random, "-o", folder + "/kept.jsonl"]), "character device")
        // A dataset longer than the scores stops at the first extra line.
        let long = folder + "/long.jsonl"
        let text = (try String(contentsOfFile: Self.example.datasetPath, encoding: .utf8)) + String(repeating: "{\"extra\": 1}\n", count: 1000)
        try text.write(toFile: long, atomically: true, encoding: .utf8)
        Self.expectOneLineError(try CommandRunner.saegeo(["filter", "--scores", scores, "--drop-fraction", "0.1", "--dataset", long, "-o", folder + "/kept.jsonl"]), "more than")
        #expect(!FileManager.default.fileExists(atPath: folder + "/kept.jsonl"))
    }

    @Test("non-finite activations are refused with the row, or left out and counted under --skip-nonfinite")
    func nonFiniteActivations() throws {
        let folder = try Self.folder("nonfinite")
        // Three samples of three tokens; token row 4 (sample 1) is NaN, row 7 (sample 2) +inf.
        let d = 48
        var rng = SeededGenerator(seed: 5)
        var rows = (0..<(9 * d)).map { _ in Float(rng.gaussian()) }
        rows[4 * d + 3] = .nan
        rows[7 * d] = .infinity
        let bad = folder + "/bad.safetensors"
        try SafetensorsWriter.write([.float32("activations", shape: [9, d], rows), .int64("offsets", shape: [4], [0, 3, 6, 9])], metadata: [:], to: bad)
        // The same samples without the bad rows.
        let keep = (0..<9).filter { $0 != 4 && $0 != 7 }
        let clean = folder + "/clean.safetensors"
        try SafetensorsWriter.write([.float32("activations", shape: [7, d], keep.flatMap { Array(rows[($0 * d)..<($0 * d + d)]) }),
                                     .int64("offsets", shape: [4], [0, 3, 5, 7])], metadata: [:], to: clean)
        func arguments(_ activations: String, _ out: String) -> [String] {
            ["score", "--sae", Self.example.saePath, "--toxic", Self.example.toxicPath, "--activations", activations,
             "--offsets", "offsets", "-o", out, "--architecture", "relu", "--null-sets", "0"]
        }
        Self.expectOneLineError(try CommandRunner.saegeo(arguments(bad, folder + "/x.csv")), "token row 4", "--skip-nonfinite")
        #expect(!FileManager.default.fileExists(atPath: folder + "/x.csv"))
        for device in ["cpu"] + (((try? DeviceCatalog().openCLDevices.count) ?? 0) > 0 ? ["opencl:0"] : []) {
            let skipped = try CommandRunner.saegeo(arguments(bad, folder + "/skipped.csv") + ["--skip-nonfinite", "--device", device])
            #expect(skipped.status == 0 && skipped.stderr.contains("left out 2 token rows"), "\(skipped.stderr)")
            #expect(try CommandRunner.saegeo(arguments(clean, folder + "/clean.csv") + ["--device", device]).status == 0)
            let a = try SampleScores.read(folder + "/skipped.csv").scores, b = try SampleScores.read(folder + "/clean.csv").scores
            #expect(a.count == 3 && zip(a, b).allSatisfy { abs($0 - $1) <= 1e-5 * max(1, abs($1)) }, "\(device): \(a) vs \(b)")
        }
    }

    // MARK: signals and truncation

    /// Starts saegeo, waits until `ready` holds (or it ends), stops it, does `act`, lets it go on,
    /// and returns its outcome.
    static func interfere(_ arguments: [String], environment: [String: String] = [:], ready: (Int32) -> Bool,
                          act: (Int32) -> Void) throws -> (status: Int32, stderr: String, interfered: Bool) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: CommandRunner.saegeo)
        process.arguments = arguments
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        let err = Pipe()
        process.standardError = err
        try process.run()
        let deadline = Date().addingTimeInterval(120)
        while process.isRunning, Date() < deadline, !ready(process.processIdentifier) { usleep(500) }
        kill(process.processIdentifier, SIGSTOP)
        let interfered = process.isRunning
        act(process.processIdentifier)
        kill(process.processIdentifier, SIGCONT)
        let stderr = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        return (process.terminationStatus, stderr, interfered)
    }

    /// Whether process `pid` has `path` open (it has started reading it).
    static func opened(_ pid: Int32, _ path: String) -> Bool {
        let fds = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/fd")) ?? []
        return fds.contains { (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(pid)/fd/\($0)")) == path }
    }

    /// Whether process `pid` has `path` mapped (it has started reading it).
    static func maps(_ pid: Int32, _ path: String) -> Bool {
        (try? String(contentsOfFile: "/proc/\(pid)/maps", encoding: .utf8))?.contains(path) ?? false
    }

    @Test("SIGTERM, SIGINT and SIGHUP stop filter and score mid-write: exit 1, no output, no temporary")
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
                #expect(run.status == 1 && run.stderr.contains("interrupted"), "signal \(signal): \(run.stderr)")
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
            #expect(run.status == 1 && run.stderr.contains("interrupted"), "\(run.stderr)")
            #expect(!FileManager.default.fileExists(atPath: out))
        }
        #expect(Self.listing(temporary).isEmpty)
        #expect(!Self.listing(folder).contains { $0.contains("partial") })
    }

    /// The example's SAE as a Gemma Scope params.npz written by np.savez_compressed (deflated members).
    static func gemmaScopeCopy(_ path: String) throws -> String {
        let sae = try SafetensorsContents(path: example.saePath + "/sae_weights.safetensors")
        let members = try ["W_enc", "W_dec", "b_enc", "b_dec", "threshold"].map { name in
            let tensor = try #require(sae.tensors[name], "the example SAE lost \(name)")
            return (name: name + ".npy", data: CheckpointBytes.npy(descr: "<f4", shape: tensor.shape, payload: [UInt8](tensor.bytes)))
        }
        try CheckpointBytes.write(CheckpointBytes.zip(members, deflate: true), to: path)
        return path
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
        if device.hasPrefix("opencl"), ((try? DeviceCatalog().openCLDevices.count) ?? 0) == 0 { return }
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
        let run = try Self.interfere(arguments, ready: { _ in ((try? FileManager.default.contentsOfDirectory(atPath: output + ".checkpoint"))?.count ?? 0) >= 2 },
                                     act: { kill($0, SIGTERM) })
        #expect(run.interfered && run.status == 1, "\(run.stderr)")
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
