import Foundation
import Testing
@testable import SaegeoCore

/// What the suites that run the `saegeo` executable as a hostile user would share: one small
/// generated job, output paths, and the checks of a refusal (exactly one line "saegeo: error:",
/// non-zero exit, no output file) and of a success (every stderr line saegeo's own). The suites
/// (HostileNumberArgumentTests, HostileOptionTests, HostileFileTests) conform to it.
protocol HostileCommandLineSuite {}

/// A small generated SAELens job (JumpReLU), shared by the cases of every conforming suite.
/// Global, so that it is written once whichever suite asks first.
let hostileCommandLineJob = ExampleJob.inTestFolder("hostile-job", features: 600, dimension: 40, samples: 300, tokens: 3, seed: 11)

extension HostileCommandLineSuite {
    static var job: ExampleJob { hostileCommandLineJob }

    /// What no stderr may hold: a crash, a trap, a Foundation error or a raw parser message.
    static var forbidden: [String] { ["Backtrace", "Fatal error", "NSCocoaErrorDomain", "Missing value for", "EncodingError"] }

    static func out(_ name: String) -> String { TestFiles.path("hostile-out-" + name) }

    static func scoreArguments(sae: String = job.saePath, _ output: String) -> [String] {
        ["score", "--sae", sae, "--toxic", job.toxicPath, "--activations", job.activationsPath,
         "--offsets", "offsets", "-o", output, "--device", "cpu"]
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
}
