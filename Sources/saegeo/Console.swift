import Foundation

/// Messages for people: errors and summaries on stderr, progress only when stderr is a terminal.
enum Console {
    static func error(_ message: String) {
        FileHandle.standardError.write(Data("saegeo: error: \(message)\n".utf8))
    }

    static func info(_ message: String) {
        FileHandle.standardError.write(Data("saegeo: \(message)\n".utf8))
    }

    static let isTerminal = isatty(STDERR_FILENO) == 1

    /// A progress line that redraws itself; silent unless stderr is a terminal.
    final class Progress: @unchecked Sendable {
        private let label: String
        private let started = Date()
        private var lastDraw = Date.distantPast

        init(_ label: String) { self.label = label }

        func update(done: Int, total: Int) {
            guard Console.isTerminal, total > 0 else { return }
            let now = Date()
            guard now.timeIntervalSince(lastDraw) > 0.2 || done == total else { return }
            lastDraw = now
            let elapsed = now.timeIntervalSince(started)
            let eta = done > 0 ? elapsed * Double(total - done) / Double(done) : 0
            let line = String(format: "\r%@ %d/%d tiles, %.0f%%, %.1f s elapsed, ETA %.1f s",
                              label, done, total, 100 * Double(done) / Double(total), elapsed, eta)
            FileHandle.standardError.write(Data(line.utf8))
            if done == total { FileHandle.standardError.write(Data("\r\u{1B}[K".utf8)) }
        }
    }
}
