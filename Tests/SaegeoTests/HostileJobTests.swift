import Foundation
import Testing
@testable import SaegeoCore

/// The job layer's promises about paths and inputs, tested as a hostile user would break them:
/// outputs that are inputs, special files, full disks, FIFOs, non-finite activations. Special
/// files (FIFOs, device nodes, a full tmpfs) are made in a temporary folder, never taken from the
/// real /dev.
@Suite(.serialized)
struct HostileJobTests: HostileSuite {
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
        for device in ["cpu"] + (TestBackends.hasOpenCL ? ["opencl:0"] : []) {
            let skipped = try CommandRunner.saegeo(arguments(bad, folder + "/skipped.csv") + ["--skip-nonfinite", "--device", device])
            #expect(skipped.status == 0 && skipped.stderr.contains("left out 2 token rows"), "\(skipped.stderr)")
            #expect(try CommandRunner.saegeo(arguments(clean, folder + "/clean.csv") + ["--device", device]).status == 0)
            let a = try SampleScores.read(folder + "/skipped.csv").scores, b = try SampleScores.read(folder + "/clean.csv").scores
            #expect(a.count == 3 && zip(a, b).allSatisfy { abs($0 - $1) <= 1e-5 * max(1, abs($1)) }, "\(device): \(a) vs \(b)")
        }
    }
}
