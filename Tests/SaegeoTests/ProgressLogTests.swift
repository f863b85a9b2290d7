import Foundation
import Testing
@testable import SaegeoCore

/// Progress where nobody watches a terminal (a batch job's log): a line per --progress-interval
/// seconds with work done, rate, ETA and the device; never a flood; none with 0.
@Suite(.serialized)
struct ProgressLogTests {
    static let dictionary = try! TestDictionary.make(features: 6001, dimension: 301, seed: 12)

    static func run(interval: String, _ name: String) throws -> (CommandRunner.Outcome, Double) {
        let started = Date()
        let run = try CommandRunner.saegeo(["neighbors", "--sae", Self.dictionary.path, "-k", "5", "--device", "cpu",
                                            "--memory-budget", "8MiB", "--progress-interval", interval,
                                            "-o", TestFiles.path("progress-\(name).safetensors")])
        return (run, Date().timeIntervalSince(started))
    }

    static func progressLines(_ stderr: String) -> [Substring] {
        stderr.split(separator: "\n").filter { $0.contains(" tiles, ") && $0.contains("ETA") }
    }

    @Test("stderr not a terminal: a line per interval naming the device, at most one per interval; none with 0")
    func linesPerInterval() throws {
        let (run, seconds) = try Self.run(interval: "0.1", "on")
        #expect(run.status == 0, "\(run.stderr)")
        let lines = Self.progressLines(run.stderr)
        #expect(!lines.isEmpty, "no progress line in \(seconds) s: \(run.stderr)")
        #expect(Double(lines.count) <= seconds / 0.1 + 1, "\(lines.count) lines in \(seconds) s")
        for line in lines {
            #expect(line.hasPrefix("saegeo: ") && line.contains("cpu") && line.contains("GFLOP/s"), "\(line)")
            #expect(!line.contains("\u{1B}") && !line.contains("\r"), "terminal codes in a log: \(line)")
        }
        let (quiet, _) = try Self.run(interval: "0", "off")
        #expect(quiet.status == 0 && Self.progressLines(quiet.stderr).isEmpty, "\(quiet.stderr)")
        for bad in ["-1", "nan", "1e9"] {
            let refused = try CommandRunner.saegeo(["neighbors", "--sae", Self.dictionary.path, "-k", "5",
                                                    "--progress-interval", bad, "-o", TestFiles.path("progress-bad.safetensors")])
            #expect(refused.status != 0 && refused.stderr.contains("--progress-interval"), "\(bad): \(refused.stderr)")
        }
    }
}
