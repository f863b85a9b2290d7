import Foundation
import Testing
@testable import SaegeoCore

/// Issue 21's first causes, tested as a hostile user would break them: files a job reads without
/// declaring them (a config beside the weights), folders saegeo removes without owning them (the
/// checkpoint folder), a fingerprint that does not look at the whole input, a commit that is not
/// all-or-nothing, and checks that come after the work instead of before it.
@Suite(.serialized)
struct HostileOwnershipTests: HostileSuite {
    // MARK: every file a run opens is an input

    @Test("a config read beside the weights is an input: --summary / --ids onto it are refused and it survives")
    func configBesideWeightsIsAnInput() throws {
        let folder = try Self.folder("config-input")
        let sae = folder + "/sae"
        try FileManager.default.copyItem(atPath: Self.example.saePath, toPath: sae)
        let weights = sae + "/sae_weights.safetensors", config = sae + "/cfg.json"
        let before = Self.contents(config)
        let score = ["score", "--sae", weights, "--toxic", Self.example.toxicPath, "--activations", Self.example.activationsPath,
                     "--offsets", "offsets", "--device", "cpu", "--null-sets", "3"]
        Self.expectOneLineError(try CommandRunner.saegeo(score + ["-o", folder + "/s.jsonl", "--summary", config]), "cfg.json", "reads")
        let link = folder + "/cfg-link.json"
        try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: config)
        Self.expectOneLineError(try CommandRunner.saegeo(score + ["-o", folder + "/s.jsonl", "--summary", link]), "never overwrites an input")
        Self.expectOneLineError(try CommandRunner.saegeo([
            "contrast", "--sae", weights, "--activations", Self.example.activationsPath, "--offsets", "offsets",
            "--baseline", Self.example.activationsPath, "--baseline-offsets", "offsets", "-o", folder + "/c.jsonl",
            "--ids", config, "--device", "cpu"]), "cfg.json")
        #expect(Self.contents(config) == before)
        #expect(!FileManager.default.fileExists(atPath: folder + "/s.jsonl") && !FileManager.default.fileExists(atPath: folder + "/c.jsonl"))
    }

    @Test("the job records every file any reader opens while it is alive, and refuses to write onto one")
    func ledgerCoversEveryReader() throws {
        let folder = try Self.folder("ledger")
        let config = Self.example.saePath + "/cfg.json"
        let checkpoint = try SAECheckpoint.open(Self.example.saePath + "/sae_weights.safetensors")
        #expect(checkpoint.files.contains(config) && checkpoint.files.contains(Self.example.saePath + "/sae_weights.safetensors"),
                "\(checkpoint.files)")
        let job = try Job("test", inputs: [], outputs: [("-o", config), ("--other", folder + "/fine.txt")])
        try job.confirmOutputs()   // nothing opened yet
        _ = try SAECheckpoint.open(Self.example.saePath)
        #expect(throws: SaegeoError.self) { try job.confirmOutputs() }
        #expect(throws: SaegeoError.self) { try job.write(config) { try $0.write("{}") } }
        job.abandon()
    }

    // MARK: folders saegeo makes are saegeo's

    @Test("a checkpoint folder saegeo did not make, or a link, is refused before any work; cleanup removes only saegeo's files")
    func checkpointFolderOwnership() throws {
        let folder = try Self.folder("checkpoint-owner")
        let out = folder + "/n.safetensors", checkpoint = out + ".checkpoint"
        let shard = ["neighbors", "--sae", Self.example.saePath, "-k", "3", "-o", out, "--shard", "0/2", "--device", "cpu"]
        // A user's folder at that path, with the user's file in it.
        try FileManager.default.createDirectory(atPath: checkpoint, withIntermediateDirectories: true)
        try Data("mine".utf8).write(to: URL(fileURLWithPath: checkpoint + "/notes.txt"))
        Self.expectOneLineError(try CommandRunner.saegeo(shard), "not a checkpoint saegeo made")
        #expect(Self.listing(checkpoint) == ["notes.txt"] && !FileManager.default.fileExists(atPath: out))
        // An input SAE folder sitting at that path.
        try FileManager.default.removeItem(atPath: checkpoint)
        try FileManager.default.copyItem(atPath: Self.example.saePath, toPath: checkpoint)
        Self.expectOneLineError(try CommandRunner.saegeo(shard), "not a checkpoint saegeo made")
        #expect(Self.listing(checkpoint) == ["cfg.json", "sae_weights.safetensors"])
        // A symbolic link: refused, the link and its target left alone.
        try FileManager.default.removeItem(atPath: checkpoint)
        let target = try Self.folder("checkpoint-owner-target")
        try FileManager.default.createSymbolicLink(atPath: checkpoint, withDestinationPath: target)
        Self.expectOneLineError(try CommandRunner.saegeo(shard), "symbolic link")
        #expect(Self.listing(target).isEmpty && (try? FileManager.default.destinationOfSymbolicLink(atPath: checkpoint)) == target)
        try FileManager.default.removeItem(atPath: checkpoint)

        // A file the user drops into saegeo's own checkpoint folder survives the cleanup.
        let arguments = try interruptedShard(out)
        try Data("mine".utf8).write(to: URL(fileURLWithPath: checkpoint + "/notes.txt"))
        let resumed = try CommandRunner.saegeo(arguments)
        #expect(resumed.status == 0, "\(resumed.stderr)")
        #expect(Self.listing(checkpoint) == ["notes.txt"], "\(Self.listing(checkpoint))")

        // A foreign checkpoint (another k): its blocks go, the user's file stays.
        try FileManager.default.removeItem(atPath: checkpoint)
        let other = folder + "/other.safetensors"
        _ = try interruptedShard(other, k: 4)
        try FileManager.default.moveItem(atPath: other + ".checkpoint", toPath: checkpoint)
        try Data("mine".utf8).write(to: URL(fileURLWithPath: checkpoint + "/notes.txt"))
        let fresh = try CommandRunner.saegeo(arguments)
        #expect(fresh.status == 0 && fresh.stderr.contains("another job"), "\(fresh.stderr)")
        #expect(Self.listing(checkpoint) == ["notes.txt"], "\(Self.listing(checkpoint))")
    }

    @Test("a block name that is a folder or a FIFO fails before any work, not after it")
    func blockPathInTheWay() throws {
        let folder = try Self.folder("block-in-the-way")
        let out = folder + "/n.safetensors"
        let arguments = try interruptedShard(out)
        for make in ["folder", "fifo"] {
            let block = out + ".checkpoint/block-000000000064.safetensors"
            try? FileManager.default.removeItem(atPath: block)
            if make == "folder" { try FileManager.default.createDirectory(atPath: block, withIntermediateDirectories: false) } else { #expect(mkfifo(block, 0o644) == 0) }
            let started = Date()
            let run = try CommandRunner.saegeo(arguments)
            Self.expectOneLineError(run, "block-000000000064.safetensors", make == "folder" ? "folder" : "FIFO")
            #expect(!run.stderr.contains("computing it again") && Date().timeIntervalSince(started) < 20)
            #expect(!FileManager.default.fileExists(atPath: out))
        }
    }

    // MARK: a fingerprint of the whole content

    @Test("20 KB edited in the middle of the dictionary between the shards and merge is refused")
    func dictionaryEditedBeforeMerge() throws {
        let folder = try Self.folder("edited-dictionary")
        let sae = folder + "/sae"
        try FileManager.default.copyItem(atPath: Self.example.saePath, toPath: sae)
        var shards: [String] = []
        for i in 0..<2 {
            shards.append(folder + "/pairs\(i).safetensors")
            let run = try CommandRunner.saegeo(["neighbors", "--sae", sae, "-k", "4", "-o", shards[i], "--shard", "\(i)/2", "--device", "cpu"])
            #expect(run.status == 0, "\(run.stderr)")
        }
        try overwriteMiddle(sae + "/sae_weights.safetensors", bytes: 20_000)
        let merged = folder + "/merged.safetensors"
        Self.expectOneLineError(try CommandRunner.saegeo(["merge", "-o", merged] + shards), "not the dictionary the shards ran on")
        #expect(!FileManager.default.fileExists(atPath: merged))
    }

    @Test("activations edited in the middle before a resume: the old blocks are not used and the scores are the new data's")
    func activationsEditedBeforeResume() throws {
        let folder = try Self.folder("edited-activations")
        let activations = folder + "/activations.safetensors"
        let job = ExampleJob.inTestFolder("edited-activations-job", features: 300, dimension: 32, samples: 6000, tokens: 2, seed: 5)
        try FileManager.default.copyItem(atPath: job.activationsPath, toPath: activations)
        let out = folder + "/scores.jsonl"
        let arguments = ["score", "--sae", job.saePath, "--toxic", job.toxicPath, "--activations", activations, "--offsets", "offsets",
                         "-o", out, "--device", "cpu", "--shard", "0/1"]
        let run = try Self.interfere(arguments, ready: { _ in blocks(out + ".checkpoint") >= 1 }, act: { kill($0, SIGTERM) })
        #expect(run.interfered && run.status == 75, "\(run.stderr)")
        try scaleMiddleRows(activations)
        let resumed = try CommandRunner.saegeo(arguments)
        #expect(resumed.status == 0 && !resumed.stderr.contains("resuming"), "\(resumed.stderr)")
        let fresh = folder + "/fresh.jsonl"
        #expect(try CommandRunner.saegeo(Array(arguments.dropLast(2)).map { $0 == out ? fresh : $0 }).status == 0)
        // A shard's lines carry no percentile (it sees only its samples); merged, it is the whole run.
        let merged = folder + "/merged.jsonl"
        #expect(try CommandRunner.saegeo(["merge", "-o", merged, out]).status == 0)
        #expect(Self.contents(merged) == Self.contents(fresh))
    }

    @Test("the fingerprint sees one changed byte anywhere in a file, and costs one pass over it")
    func fingerprintSeesEveryByte() throws {
        let folder = try Self.folder("fingerprint")
        let path = folder + "/data.bin"
        var rng = SeededGenerator(seed: 3)
        // Random 64 KiB repeated (fast to make in a debug build), then random bytes sprinkled in.
        let block = (0..<(1 << 16)).map { _ in UInt8.random(in: 0...255, using: &rng) }
        var bytes = [UInt8](Array(repeating: block, count: 3 * Checksum.filePiece / block.count + 1).joined()) + block.prefix(12_345)
        for _ in 0..<1000 { bytes[Int.random(in: bytes.indices, using: &rng)] = UInt8.random(in: 0...255, using: &rng) }
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        let original = try JobFingerprint.contents(of: path)
        // The combined CRC is the CRC of the whole file in one pass.
        var whole = Checksum()
        whole.add(Data(bytes))
        let descriptor = try InputFile.open(path, what: "test")
        defer { close(descriptor) }
        #expect(try Checksum.ofFile(descriptor, size: bytes.count, path: path) == whole)
        for position in [0, Checksum.filePiece - 1, Checksum.filePiece, bytes.count / 2, bytes.count - 1] {
            bytes[position] ^= 0x10
            try Data(bytes).write(to: URL(fileURLWithPath: path))
            #expect(try JobFingerprint.contents(of: path) != original, "byte \(position)")
            bytes[position] ^= 0x10
        }
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        #expect(try JobFingerprint.contents(of: path) == original)
    }

    // MARK: all or nothing, and failing before the work

    @Test("an output path ending in '/' is refused before any work, and the other output does not appear")
    func trailingSlash() throws {
        let folder = try Self.folder("trailing-slash")
        let scores = folder + "/scores.jsonl"
        #expect(try CommandRunner.saegeo(scoreArguments(scores)).status == 0)
        let kept = folder + "/kept.jsonl"
        let run = try CommandRunner.saegeo(["filter", "--scores", scores, "--drop-fraction", "0.1", "--dataset", Self.example.datasetPath,
                                            "-o", kept, "--dropped", folder + "/nothere/"])
        Self.expectOneLineError(run, "nothere/", "folder")
        #expect(!run.stderr.contains(".partial") && !FileManager.default.fileExists(atPath: kept))
        Self.expectOneLineError(try CommandRunner.saegeo(scoreArguments(folder + "/out/")), "folder")
        #expect(Self.listing(folder) == ["scores.jsonl"])
    }

    @Test("a rename that fails in the middle of a commit puts every replaced output back")
    func commitRollsBack() throws {
        let folder = try Self.folder("rollback")
        let first = folder + "/first.txt", second = folder + "/second.txt", third = folder + "/third.txt"
        try Data("old first".utf8).write(to: URL(fileURLWithPath: first))
        let job = try Job("test", inputs: [], outputs: [("-o", first), ("--new", third), ("--second", second)])
        try job.write(first) { try $0.write("new first") }
        try job.write(third) { try $0.write("new third") }
        try job.write(second) { try $0.write("new second") }
        // Something puts a non-empty folder where the last output goes, after the checks.
        try FileManager.default.createDirectory(atPath: second + "/inside", withIntermediateDirectories: true)
        do {
            try job.commit()
            Issue.record("the commit succeeded onto a folder")
        } catch let error as SaegeoError {
            #expect(error.message.contains(second) && !error.message.contains(".partial"), "\(error.message)")
        }
        #expect(String(decoding: try #require(Self.contents(first)), as: UTF8.self) == "old first")
        #expect(!FileManager.default.fileExists(atPath: third))
        #expect(Self.listing(folder) == ["first.txt", "second.txt"], "\(Self.listing(folder))")
    }

    // MARK: one error, once

    @Test("an input truncated while several cores read it gives exactly one error line", arguments: 0..<4)
    func truncatedWhileRead(_ round: Int) throws {
        let folder = try Self.folder("truncated-\(round)")
        let job = ExampleJob.inTestFolder("truncated-job", features: 256, dimension: 64, samples: 20000, tokens: 4, seed: 9)
        let activations = folder + "/activations.safetensors"
        try FileManager.default.copyItem(atPath: job.activationsPath, toPath: activations)
        let out = folder + "/scores.jsonl"
        let run = try Self.interfere(["score", "--sae", job.saePath, "--toxic", job.toxicPath, "--activations", activations,
                                      "--offsets", "offsets", "-o", out, "--device", "cpu", "--null-sets", "0"],
                                     ready: { Self.maps($0, activations) || Self.opened($0, activations) },
                                     act: { _ in truncate(activations, 4096) })
        guard run.interfered else { return }
        #expect(run.status != 0)
        let lines = run.stderr.split(separator: "\n").filter { $0.hasPrefix("saegeo: error:") || $0.contains("became shorter") }
        #expect(lines.count == 1 && !run.stderr.contains("error: saegeo: error"), "\(run.stderr)")
        #expect(!FileManager.default.fileExists(atPath: out))
    }

    // MARK: helpers

    /// The block files in a checkpoint folder.
    func blocks(_ checkpoint: String) -> Int {
        Self.listing(checkpoint).filter { $0.hasPrefix("block-") }.count
    }

    /// Starts a neighbours query shard and stops it with SIGTERM once it has saved a block.
    func interruptedShard(_ output: String, k: Int = 3) throws -> [String] {
        let ids = try TestFiles.write((0..<Self.example.size.features).map(String.init).joined(separator: "\n"), to: "ownership-ids.txt")
        let arguments = ["neighbors", "--sae", Self.example.saePath, "--queries", ids, "-k", String(k), "-o", output, "--shard", "0/1", "--device", "cpu"]
        let run = try Self.interfere(arguments, ready: { _ in blocks(output + ".checkpoint") >= 1 }, act: { kill($0, SIGTERM) })
        #expect(run.interfered && run.status == 75, "\(run.stderr)")
        return arguments
    }

    /// Overwrites `bytes` bytes in the middle of a file with other bytes.
    func overwriteMiddle(_ path: String, bytes count: Int) throws {
        let handle = try FileHandle(forUpdating: URL(fileURLWithPath: path))
        defer { try? handle.close() }
        let size = try handle.seekToEnd()
        try handle.seek(toOffset: size / 2)
        let old = try handle.read(upToCount: count) ?? Data()
        try handle.seek(toOffset: size / 2)
        try handle.write(contentsOf: Data(old.map { $0 ^ 0x5a }))
    }

    /// Halves the activation rows in the middle of an activations file (a plausible edit that keeps
    /// every value finite and the file's size and headers the same).
    func scaleMiddleRows(_ path: String) throws {
        let file = try SafetensorsFile(path: path)
        let entry = try #require(file.entries.first { $0.name == "activations" })
        let handle = try FileHandle(forUpdating: URL(fileURLWithPath: path))
        defer { try? handle.close() }
        let start = UInt64(entry.byteRange.lowerBound + entry.byteRange.count / 2) & ~3
        try handle.seek(toOffset: start)
        let old = try handle.read(upToCount: 4096) ?? Data()
        var floats = old.withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
        for i in floats.indices { floats[i] *= 0.5 }
        try handle.seek(toOffset: start)
        try handle.write(contentsOf: floats.withUnsafeBytes { Data($0) })
    }
}
