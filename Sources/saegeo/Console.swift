import Foundation
import SaegeoCore

/// Messages for people: errors and summaries on stderr; progress redrawn in place on a terminal,
/// and elsewhere (a batch job's log) one line per `progressInterval` seconds.
enum Console {
    /// Seconds between progress lines when stderr is not a terminal; 0: none (ProgressOptions).
    static let progressInterval = Locked(60.0)
    /// When the run started and when its last progress or status line went to a log (not a
    /// terminal): one clock for the whole process, so that a run of many short parts (a shard's
    /// checkpoint blocks) still logs once per interval.
    private static let logClock = Locked((started: Date(), printed: Date()))

    /// Whether a log line is due now; if so, the clock restarts and the run's elapsed seconds return.
    static func logLineDue(_ now: Date = Date()) -> Double? {
        let interval = progressInterval.current
        guard interval > 0 else { return nil }
        return logClock.withLock { clock in
            guard now.timeIntervalSince(clock.printed) >= interval else { return nil }
            clock.printed = now
            return now.timeIntervalSince(clock.started)
        }
    }

    /// Starts the log clock (the CLI calls it as the process starts).
    static func startClock() { _ = logClock.current }

    static func error(_ message: String) {
        FileHandle.standardError.write(Data("saegeo: error: \(TerminalText.safe(message))\n".utf8))
    }

    static func info(_ message: String) {
        FileHandle.standardError.write(Data("\(isTerminal ? "\r\u{1B}[K" : "")saegeo: \(TerminalText.safe(message))\n".utf8))
    }

    static let isTerminal = isatty(STDERR_FILENO) == 1

    /// What a long command is doing now: a line that redraws itself on a terminal; in a log, the
    /// step under way once per interval.
    static func status(_ message: String) {
        if isTerminal {
            FileHandle.standardError.write(Data("\r\u{1B}[Ksaegeo: \(TerminalText.safe(message))".utf8))
            return
        }
        guard let elapsed = logLineDue() else { return }
        FileHandle.standardError.write(Data(String(format: "saegeo: %@ (%.0f s elapsed)\n", TerminalText.safe(message), elapsed).utf8))
    }

    /// A value as pretty, key-sorted JSON, for `what` (the option and file it is written to). A
    /// value JSON cannot hold is refused naming the field (JSONCoding), in saegeo's words.
    static func json<T: Encodable>(_ value: T, what: String) throws -> Data {
        try JSONCoding.encode(value, what: what)
    }

    /// Prints a value as pretty, key-sorted JSON on stdout.
    static func printJSON<T: Encodable>(_ value: T) throws {
        print(String(decoding: try json(value, what: "the JSON output"), as: UTF8.self))
    }

    /// A progress line: redrawn in place on a terminal (at most 5 times a second); in a log, a
    /// line every `progressInterval` seconds of the run (the first after one interval).
    final class Progress: Sendable {
        private let label: String
        private let started = Date()
        private let lastDraw = Locked(Date.distantPast)

        init(_ label: String) { self.label = label }

        func update(_ report: ProgressReport) {
            guard report.tilesTotal > 0 else { return }
            let now = Date()
            let finished = report.tilesDone >= report.tilesTotal
            guard Console.isTerminal else {
                if !finished, Console.logLineDue(now) != nil {
                    FileHandle.standardError.write(Data(("saegeo: " + line(report, now: now) + "\n").utf8))
                }
                return
            }
            let due = lastDraw.withLock { last in
                guard now.timeIntervalSince(last) > 0.2 || finished else { return false }
                last = now
                return true
            }
            guard due else { return }
            let text = "\r" + line(report, now: now) + "\u{1B}[K"
            FileHandle.standardError.write(Data(text.utf8))
            if finished { FileHandle.standardError.write(Data("\r\u{1B}[K".utf8)) }
        }

        /// "LABEL t/T tiles, p%, r GFLOP/s, e s elapsed, ETA s s".
        private func line(_ report: ProgressReport, now: Date) -> String {
            let elapsed = now.timeIntervalSince(started)
            let done = Double(min(report.tilesDone, report.tilesTotal)) / Double(report.tilesTotal)
            let eta = done > 0 ? elapsed * (1 - done) / done : 0
            return String(format: "%@ %d/%d tiles, %.0f%%, %.1f GFLOP/s, %.1f s elapsed, ETA %.1f s",
                          label, report.tilesDone, report.tilesTotal, 100 * done,
                          report.flopsDone / max(elapsed, 1e-9) / 1e9, elapsed, eta)
        }
    }
}
