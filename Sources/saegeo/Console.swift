import Foundation
import SaegeoCore

/// Messages for people: errors and summaries on stderr, progress only when stderr is a terminal.
enum Console {
    static func error(_ message: String) {
        FileHandle.standardError.write(Data("saegeo: error: \(message)\n".utf8))
    }

    static func info(_ message: String) {
        FileHandle.standardError.write(Data("\(isTerminal ? "\r\u{1B}[K" : "")saegeo: \(message)\n".utf8))
    }

    static let isTerminal = isatty(STDERR_FILENO) == 1

    /// What a long command is doing now: a line that redraws itself on a terminal, nothing otherwise.
    static func status(_ message: String) {
        guard isTerminal else { return }
        FileHandle.standardError.write(Data("\r\u{1B}[Ksaegeo: \(message)".utf8))
    }

    /// A value as pretty, key-sorted JSON.
    static func json<T: Encodable>(_ value: T) throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        return try encoder.encode(value)
    }

    /// Prints a value as pretty, key-sorted JSON on stdout.
    static func printJSON<T: Encodable>(_ value: T) throws {
        print(String(decoding: try json(value), as: UTF8.self))
    }

    /// A progress line that redraws itself; silent unless stderr is a terminal.
    final class Progress: Sendable {
        private let label: String
        private let started = Date()
        private let lastDraw = Locked(Date.distantPast)

        init(_ label: String) { self.label = label }

        func update(_ report: ProgressReport) {
            guard Console.isTerminal, report.tilesTotal > 0 else { return }
            let now = Date()
            let finished = report.tilesDone >= report.tilesTotal
            let due = lastDraw.withLock { last in
                guard now.timeIntervalSince(last) > 0.2 || finished else { return false }
                last = now
                return true
            }
            guard due else { return }
            let elapsed = now.timeIntervalSince(started)
            let done = Double(min(report.tilesDone, report.tilesTotal)) / Double(report.tilesTotal)
            let eta = done > 0 ? elapsed * (1 - done) / done : 0
            let line = String(format: "\r%@ %d/%d tiles, %.0f%%, %.1f GFLOP/s, %.1f s elapsed, ETA %.1f s\u{1B}[K",
                              label, report.tilesDone, report.tilesTotal, 100 * done,
                              report.flopsDone / max(elapsed, 1e-9) / 1e9, elapsed, eta)
            FileHandle.standardError.write(Data(line.utf8))
            if finished { FileHandle.standardError.write(Data("\r\u{1B}[K".utf8)) }
        }
    }
}
