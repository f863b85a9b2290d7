import Foundation
import Testing
@testable import SaegeoCore

/// Numbers on the command line, as a hostile user types them: negative counts, sizes and shards,
/// counts far past what the job holds (-k, a shard count, a generated size, --null-sets: refused
/// quickly, or a valid empty shard) and speeds of 0, nan and inf. Each refusal is one line that
/// says what is wrong with the value; nothing traps and no output is written.
@Suite(.serialized)
struct HostileNumberArgumentTests: HostileCommandLineSuite {
    // MARK: negative numbers

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

    // MARK: huge numbers

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

    // MARK: --assume-gflops

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
}
