import Foundation
import Testing
@testable import SaegeoCore

/// The `saegeo` executable run as a hostile user would: negative and huge numbers, contradictory
/// options, lax or corrupt files, a header of 200000 tensors and a zip bomb. Every refusal is one
/// line starting "saegeo: error:" that says what is wrong, with a non-zero exit, no output file
/// and never a crash, a Foundation error or a raw parser message.
@Suite(.serialized)
struct HostileArgumentTests {
    /// A small generated SAELens job (JumpReLU), shared by the cases below.
    static let job = ExampleJob.inTestFolder("hostile-job", features: 600, dimension: 40, samples: 300, tokens: 3, seed: 11)

    static let forbidden = ["Backtrace", "Fatal error", "NSCocoaErrorDomain", "Missing value for", "EncodingError"]

    static func out(_ name: String) -> String { TestFiles.path("hostile-out-" + name) }

    static func scoreArguments(sae: String = job.saePath, _ output: String) -> [String] {
        ["score", "--sae", sae, "--toxic", job.toxicPath, "--activations", job.activationsPath,
         "--offsets", "offsets", "-o", output, "--device", "cpu"]
    }

    /// The job's scores, written once by `saegeo score`.
    static func scores() throws -> String {
        let path = TestFiles.path("hostile-scores.jsonl")
        if !FileManager.default.fileExists(atPath: path) {
            let run = try CommandRunner.saegeo(scoreArguments(path))
            try #require(run.status == 0, "\(run.stderr)")
        }
        return path
    }

    /// No crash, trap, Foundation error or raw parser message anywhere in stderr.
    static func expectClean(_ run: CommandRunner.Outcome, sourceLocation: SourceLocation = #_sourceLocation) {
        for marker in forbidden {
            #expect(!run.stderr.contains(marker), "stderr holds \(marker): \(run.stderr)", sourceLocation: sourceLocation)
        }
    }

    /// Runs saegeo and expects a refusal: a non-zero exit (exactly `status` when given), stderr of
    /// exactly one line "saegeo: error: ..." holding every word of `mentions`, and none of `absent`.
    @discardableResult
    static func expectRefused(_ arguments: [String], mentions: [String], status: Int32? = nil, absent: [String] = [],
                              environment: [String: String] = [:],
                              sourceLocation: SourceLocation = #_sourceLocation) throws -> CommandRunner.Outcome {
        let run = try CommandRunner.saegeo(arguments, environment: environment)
        let lines = run.stderr.split(separator: "\n", omittingEmptySubsequences: false).filter { !$0.isEmpty }
        #expect(run.status != 0, "exit 0 for \(arguments): \(run.stderr)", sourceLocation: sourceLocation)
        if let status { #expect(run.status == status, "exit \(run.status): \(run.stderr)", sourceLocation: sourceLocation) }
        #expect(lines.count == 1, "not one line: \(run.stderr)", sourceLocation: sourceLocation)
        #expect(run.stderr.hasPrefix("saegeo: error:"), "\(run.stderr)", sourceLocation: sourceLocation)
        for word in mentions {
            #expect(run.stderr.contains(word), "no '\(word)' in: \(run.stderr)", sourceLocation: sourceLocation)
        }
        for path in absent {
            #expect(!FileManager.default.fileExists(atPath: path), "\(path) was written", sourceLocation: sourceLocation)
        }
        expectClean(run, sourceLocation: sourceLocation)
        return run
    }

    /// Runs saegeo and expects exit 0 with every stderr line starting "saegeo: ".
    @discardableResult
    static func expectSuccess(_ arguments: [String], sourceLocation: SourceLocation = #_sourceLocation) throws -> CommandRunner.Outcome {
        let run = try CommandRunner.saegeo(arguments)
        #expect(run.status == 0, "exit \(run.status): \(run.stderr)", sourceLocation: sourceLocation)
        for line in run.stderr.split(separator: "\n") {
            #expect(line.hasPrefix("saegeo: "), "stray stderr line: \(line)", sourceLocation: sourceLocation)
        }
        expectClean(run, sourceLocation: sourceLocation)
        return run
    }

    static func f32(_ count: Int) -> [UInt8] {
        CheckpointBytes.encode((0..<count).map { Float(($0 * 37) % 101) / 50 - 1 }, as: "F32")
    }

    /// Gemma Scope params.npz members for a [64, 8] dictionary, W_dec first.
    static func gemmaMembers(decoder: [UInt8]) -> [(name: String, data: [UInt8])] {
        [("W_dec.npy", decoder),
         ("W_enc.npy", CheckpointBytes.npy(descr: "<f4", shape: [8, 64], payload: f32(512))),
         ("b_enc.npy", CheckpointBytes.npy(descr: "<f4", shape: [64], payload: f32(64))),
         ("b_dec.npy", CheckpointBytes.npy(descr: "<f4", shape: [8], payload: f32(8))),
         ("threshold.npy", CheckpointBytes.npy(descr: "<f4", shape: [64], payload: f32(64)))]
    }

    static func writeUInt64(_ value: UInt64, into bytes: inout [UInt8], at offset: Int) {
        for i in 0..<8 { bytes[offset + i] = UInt8((value >> (8 * UInt64(i))) & 0xFF) }
    }

    // MARK: 1. negative numbers

    @Test("negative numbers: -k -1, --memory-budget -5, --shard -1/4, --explain -1 say what is wrong with the value")
    func negativeNumbers() throws {
        let sae = Self.job.saePath, o = Self.out("negative.safetensors")
        try Self.expectRefused(["neighbors", "--sae", sae, "-k", "-1", "-o", o], mentions: ["-k", "at least 1", "-1"], absent: [o])
        try Self.expectRefused(["neighbors", "--sae", sae, "-k", "3", "--memory-budget", "-5", "-o", o],
                               mentions: ["-5", "byte count"], absent: [o])
        try Self.expectRefused(["neighbors", "--sae", sae, "-k", "3", "--shard", "-1/4", "-o", o],
                               mentions: ["-1/4", "not a shard"], absent: [o])
        let scores = Self.out("negative.jsonl")
        try Self.expectRefused(Self.scoreArguments(scores) + ["--explain", "-1"], mentions: ["--explain", "negative"], absent: [scores])
    }

    // MARK: 2. no arguments, help, parse errors

    @Test("no arguments is one line and non-zero; --help exits 0; an unknown option is one line, exit 64")
    func noArgumentsHelpAndParseErrors() throws {
        try Self.expectRefused([], mentions: ["give a command", "neighbors"])
        let help = try CommandRunner.saegeo(["--help"])
        #expect(help.status == 0, "\(help.stderr)")
        #expect(help.stdout.contains("USAGE: saegeo") && help.stdout.contains("neighbors"), "\(help.stdout)")
        Self.expectClean(help)
        let o = Self.out("unknown.safetensors")
        try Self.expectRefused(["neighbors", "--sae", Self.job.saePath, "-k", "3", "-o", o, "--bogus"],
                               mentions: ["--bogus"], status: 64, absent: [o])
    }

    // MARK: 3. huge numbers

    @Test("huge -k, shard count, generated size and --null-sets: one line, quickly, no output, no trap")
    func hugeNumbers() throws {
        let sae = Self.job.saePath, o = Self.out("huge.safetensors")
        for k in ["1000000000", "9223372036854775807"] {
            let start = Date()
            try Self.expectRefused(["neighbors", "--sae", sae, "-k", k, "-o", o, "--device", "cpu"],
                                   mentions: ["-k \(k)", "600"], absent: [o])
            #expect(Date().timeIntervalSince(start) < 10, "-k \(k) took \(Date().timeIntervalSince(start)) s")
        }
        let start = Date()
        try Self.expectRefused(["plan", "--sae", sae, "-k", "9223372036854775807"], mentions: ["-k 9223372036854775807", "600"])
        #expect(Date().timeIntervalSince(start) < 10)

        // Any clean outcome: a valid (here empty) shard, or a one-line refusal.
        let shard = Self.out("huge-shard.safetensors")
        let run = try CommandRunner.saegeo(["neighbors", "--sae", sae, "-k", "3", "--shard", "1/9223372036854775807",
                                            "-o", shard, "--device", "cpu"])
        Self.expectClean(run)
        if run.status == 0 {
            let file = try SafetensorsContents(path: shard)
            let queries = try #require(file.tensors["query_ids"]?.shape.first)
            #expect(file.tensors["indices"]?.shape == [queries, 3])
        } else {
            #expect(run.status != 0 && run.stderr.hasPrefix("saegeo: error:") && run.stderr.split(separator: "\n").count == 1,
                    "\(run.status): \(run.stderr)")
            #expect(!FileManager.default.fileExists(atPath: shard))
        }

        let folder = Self.out("huge-generate")
        try Self.expectRefused(["generate", folder, "--features", "1000000000000"], mentions: ["memory", "smaller"], absent: [folder])
        let scores = Self.out("huge-null.jsonl")
        try Self.expectRefused(Self.scoreArguments(scores) + ["--null-sets", "1000000000"],
                               mentions: ["--null-sets", "1000000000", "1000"], absent: [scores])
    }

    // MARK: 4. --assume-gflops

    @Test("plan --assume-gflops 0, nan, inf are refused with one line (text and --json); 50 works")
    func assumeGflops() throws {
        let plan = ["plan", "--sae", Self.job.saePath, "-k", "3", "--device", "cpu"]
        for value in ["0", "nan", "inf"] {
            for json in [[], ["--json"]] {
                // nan and inf are not decimal numbers, refused as the option is read (DecimalNumber).
                try Self.expectRefused(plan + json + ["--assume-gflops", value],
                                       mentions: ["--assume-gflops", value == "0" ? "not a speed" : "not a decimal number"])
            }
        }
        try Self.expectSuccess(plan + ["--assume-gflops", "50"])
        let json = try Self.expectSuccess(plan + ["--json", "--assume-gflops", "50"])
        let object = try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any]
        #expect(object?["estimated_seconds"] is Double, "\(json.stdout)")
    }

    // MARK: 5. files where folders belong and folders where files belong

    @Test("generate onto an existing regular file leaves it unchanged; filter --dataset FOLDER names the dataset")
    func filesAndFolders() throws {
        let file = try TestFiles.write("not a folder\n", to: "hostile-X.safetensors")
        try Self.expectRefused(["generate", file], mentions: ["hostile-X.safetensors", "not a folder"])
        #expect(try String(contentsOfFile: file, encoding: .utf8) == "not a folder\n")

        let dataset = Self.out("dataset-folder")
        try FileManager.default.createDirectory(atPath: dataset, withIntermediateDirectories: true)
        let o = Self.out("kept.jsonl")
        let run = try Self.expectRefused(["filter", "--scores", try Self.scores(), "--drop-fraction", "0.1", "--dataset", dataset, "-o", o],
                                         mentions: [dataset, "folder", "--dataset"], absent: [o])
        #expect(!run.stderr.contains(o), "the error blames the output: \(run.stderr)")
    }

    // MARK: 6. gated SAELens checkpoint

    @Test("a gated SAELens checkpoint: score refuses it naming 'gated'; neighbors still works")
    func gatedCheckpoint() throws {
        let gated = Self.out("gated-sae")
        try? FileManager.default.removeItem(atPath: gated)
        try FileManager.default.copyItem(atPath: Self.job.saePath, toPath: gated)
        let cfgPath = gated + "/cfg.json"
        var cfg = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: cfgPath))) as? [String: Any])
        cfg["architecture"] = "gated"
        try JSONSerialization.data(withJSONObject: cfg).write(to: URL(fileURLWithPath: cfgPath))

        let scores = Self.out("gated.jsonl")
        try Self.expectRefused(Self.scoreArguments(sae: gated, scores), mentions: ["gated"], absent: [scores])
        let o = Self.out("gated-neighbors.safetensors")
        try Self.expectSuccess(["neighbors", "--sae", gated, "-k", "3", "-o", o, "--device", "cpu"])
        #expect(try SafetensorsContents(path: o).tensors["indices"]?.shape == [600, 3])
    }

    // MARK: 7. contradictions

    @Test("contradictory options: --tensor/--layout on SAELens, --explain into csv, --seed with geometry, --topk on JumpReLU, -o .jsonl")
    func contradictions() throws {
        let sae = Self.job.saePath, o = Self.out("contradiction.safetensors")
        for extra in [["--tensor", "W_dec"], ["--layout", "rows"]] {
            try Self.expectRefused(["neighbors", "--sae", sae, "-k", "3", "-o", o] + extra,
                                   mentions: ["--tensor and --layout", "saelens"], absent: [o])
        }
        let csv = Self.out("explain.csv")
        try Self.expectRefused(Self.scoreArguments(csv) + ["--explain", "3"], mentions: ["--explain", ".jsonl"], absent: [csv])

        let dropped = Self.out("dropped.txt")
        let run = try Self.expectSuccess(["filter", "--scores", try Self.scores(), "--drop-fraction", "0.1",
                                          "--strategy", "geometry", "--seed", "5", "--dropped", dropped])
        #expect(run.stderr.split(separator: "\n").contains { $0.hasPrefix("saegeo: warning:") && $0.contains("--seed") }, "\(run.stderr)")
        #expect(try String(contentsOfFile: dropped, encoding: .utf8).split(separator: "\n").count == 30)

        let topk = Self.out("topk.jsonl")
        try Self.expectRefused(Self.scoreArguments(topk) + ["--topk", "5"], mentions: ["--topk", "jumprelu"], absent: [topk])
        let jsonl = Self.out("neighbors.jsonl")
        try Self.expectRefused(["neighbors", "--sae", sae, "-k", "3", "-o", jsonl], mentions: ["safetensors", "neighbors.jsonl"], absent: [jsonl])
    }

    // MARK: 8. lax parsing

    @Test("lax files: fractional sample id, float shapes, duplicate tensor names, a bad stored CRC, empty scores")
    func laxParsing() throws {
        let dropped = Self.out("lax-dropped.txt")
        let lax = try TestFiles.write("{\"sample\": 0, \"score\": 0.2}\n{\"sample\": 1.5, \"score\": 0.1}\n", to: "hostile-lax.jsonl")
        try Self.expectRefused(["filter", "--scores", lax, "--drop-fraction", "0.1", "--dropped", dropped],
                               mentions: ["line 2", "sample", "1.5"], absent: [dropped])

        let floatShape = TestFiles.path("hostile-float-shape.safetensors")
        try CheckpointBytes.write(CheckpointBytes.safetensors(
            header: "{\"W_dec\":{\"dtype\":\"F32\",\"shape\":[64.0, 8.0],\"data_offsets\":[0,2048]}}", data: Self.f32(512)), to: floatShape)
        let duplicate = TestFiles.path("hostile-duplicate.safetensors")
        try CheckpointBytes.write(CheckpointBytes.safetensors(
            header: "{\"W_dec\":{\"dtype\":\"F32\",\"shape\":[8,4],\"data_offsets\":[0,128]},"
                + "\"W_dec\":{\"dtype\":\"F32\",\"shape\":[8,4],\"data_offsets\":[0,128]}}", data: Self.f32(32)), to: duplicate)

        // A stored npz whose W_dec bytes no longer match the recorded CRC-32: flip a byte of its
        // data, past the 30 + 9 + 20 byte local header and the 128-byte npy header.
        let decoder = CheckpointBytes.npy(descr: "<f4", shape: [64, 8], payload: Self.f32(512))
        var npz = CheckpointBytes.zip(Self.gemmaMembers(decoder: decoder), deflate: false)
        npz[59 + 128 + 100] ^= 0xFF
        let badCRC = TestFiles.path("hostile-crc.npz")
        try CheckpointBytes.write(npz, to: badCRC)

        let o = Self.out("lax.safetensors")
        for (path, words) in [(floatShape, ["64.0", "integer"]), (duplicate, ["'W_dec'", "twice"])] {
            try Self.expectRefused(["inspect", path], mentions: words)
            try Self.expectRefused(["neighbors", "--sae", path, "-k", "2", "-o", o, "--device", "cpu"], mentions: words, absent: [o])
        }
        try Self.expectRefused(["neighbors", "--sae", badCRC, "-k", "2", "-o", o, "--device", "cpu"],
                               mentions: ["W_dec.npy", "CRC"], absent: [o])

        for (name, text) in [("hostile-empty.jsonl", ""), ("hostile-empty.csv", "sample,score,active\n")] {
            let empty = try TestFiles.write(text, to: name)
            try Self.expectRefused(["filter", "--scores", empty, "--drop-fraction", "0.1", "--dropped", dropped],
                                   mentions: [name, "no samples"], absent: [dropped])
        }
    }

    // MARK: 9. many tensors

    @Test("a safetensors header of 200000 tensors is inspected in under 30 s in a debug build")
    func manyTensors() throws {
        var entries = ["\"W_dec\":{\"dtype\":\"F32\",\"shape\":[8,4],\"data_offsets\":[0,128]}"]
        entries.reserveCapacity(200_001)
        for i in 0..<200_000 {
            entries.append("\"t\(i)\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[\(128 + i),\(129 + i)]}")
        }
        let path = TestFiles.path("hostile-many.safetensors")
        try CheckpointBytes.write(CheckpointBytes.safetensors(header: "{" + entries.joined(separator: ",") + "}",
                                                              data: Self.f32(32) + [UInt8](repeating: 7, count: 200_000)), to: path)
        let start = Date()
        let run = try Self.expectSuccess(["inspect", path])
        let seconds = Date().timeIntervalSince(start)
        print("inspect of 200000 tensors: \(String(format: "%.2f", seconds)) s")
        #expect(seconds < 30, "inspect took \(seconds) s (a debug build; the release build takes well under a second)")
        #expect(run.stdout.contains("W_dec") && run.stdout.contains("t199999"), "\(run.stdout.prefix(500))")
    }

    // MARK: 10. zip bomb

    @Test("a deflated npz member declaring 2176 bytes that inflates to 64 MiB is refused; TMPDIR stays empty")
    func zipBomb() throws {
        // A valid npy header for [64, 8] float32 (2176 bytes in all), then 64 MiB of zeros.
        let declared: UInt64 = 2176
        let bomb = CheckpointBytes.npy(descr: "<f4", shape: [64, 8], payload: [UInt8](repeating: 0, count: 64 << 20))
        var npz = CheckpointBytes.zip(Self.gemmaMembers(decoder: bomb), deflate: true)
        // Declare 2176 uncompressed bytes in W_dec's ZIP64 extra fields: the local one follows the
        // 30-byte header and 9-byte name; the central one follows the 46-byte entry and the name,
        // at the central directory offset that the ZIP64 end record holds 50 bytes from the end.
        Self.writeUInt64(declared, into: &npz, at: 30 + 9 + 4)
        let central = npz[(npz.count - 50)..<(npz.count - 42)].enumerated().reduce(0) { $0 | Int($1.element) << (8 * $1.offset) }
        Self.writeUInt64(declared, into: &npz, at: central + 46 + 9 + 4)
        #expect(npz.count < 1 << 20, "the bomb is small: \(npz.count) bytes")
        let path = TestFiles.path("hostile-bomb.npz")
        try CheckpointBytes.write(npz, to: path)

        let temporary = Self.out("bomb-tmp")
        try? FileManager.default.removeItem(atPath: temporary)
        try FileManager.default.createDirectory(atPath: temporary, withIntermediateDirectories: true)
        let o = Self.out("bomb.safetensors")
        let run = try Self.expectRefused(["neighbors", "--sae", path, "-k", "1", "-o", o, "--device", "cpu"],
                                         mentions: ["W_dec.npy", "more than the 2176 bytes", "decompression bomb"], absent: [o],
                                         environment: ["TMPDIR": temporary])
        // Refused as it inflates, not after writing the whole member out.
        #expect(!run.stderr.contains("67108"), "\(run.stderr)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: temporary).isEmpty, "TMPDIR holds leftovers")
    }

    @Test("activations without the named tensor: the error and --help point at --activations-tensor, which then works")
    func activationsTensorIsNamed() throws {
        let output = Self.out("renamed.jsonl")
        var arguments = Self.scoreArguments(output)
        let wrong = arguments.firstIndex(of: "offsets")!
        arguments[wrong - 1 ... wrong] = ["--activations-tensor", "acts"]
        try Self.expectRefused(arguments, mentions: ["no tensor 'acts'", "--activations-tensor"], absent: [output])
        // Following the message: naming the tensor that is there scores.
        let help = try CommandRunner.saegeo(["score", "--help"])
        #expect(help.stdout.contains("--activations-tensor"), "\(help.stdout)")
        #expect(!help.stdout.contains("see --tensor"), "\(help.stdout)")
        arguments = Self.scoreArguments(output) + ["--activations-tensor", "activations"]
        let run = try CommandRunner.saegeo(arguments)
        #expect(run.status == 0 && FileManager.default.fileExists(atPath: output), "\(run.stderr)")
    }
}
