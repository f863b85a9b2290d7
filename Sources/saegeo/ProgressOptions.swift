import ArgumentParser
import Foundation
import SaegeoCore

/// How a long command reports progress when stderr is not a terminal (a batch job's log): one
/// line per interval, never a flood. On a terminal the line redraws itself as before.
struct ProgressOptions: ParsableArguments {
    @Option(name: .customLong("progress-interval"), parsing: .unconditional,
            help: "Seconds between progress lines when stderr is not a terminal (a Slurm log); 0 turns them off.", transform: NumberArgument.double)
    var progressInterval: Double = 60

    /// Checks the value and makes it the interval of every progress line and status of this run.
    func apply() throws {
        guard progressInterval.isFinite, progressInterval >= 0, progressInterval <= 86_400 else {
            throw SaegeoError(.usage, "--progress-interval \(progressInterval) is not an interval: give seconds between 0 (off) and 86400")
        }
        Console.progressInterval.withLock { $0 = progressInterval }
    }
}
