import Foundation

/// A flag the CLI raises on Ctrl-C or SIGTERM; long loops check it between tiles. A run that
/// stops its own device threads (one failed) raises a child flag, which its parent (the
/// process's signal flag) never sees.
public final class Cancellation: @unchecked Sendable {
    private let lock = NSLock()
    private var raised = false
    private let parent: Cancellation?

    public init(parent: Cancellation? = nil) { self.parent = parent }

    public func cancel() {
        lock.lock()
        raised = true
        lock.unlock()
    }

    public var isCancelled: Bool {
        lock.lock()
        let own = raised
        lock.unlock()
        return own || (parent?.isCancelled ?? false)
    }

    public func check() throws {
        if isCancelled { throw SaegeoError(.interrupted, "interrupted; no output was written") }
    }
}

/// Progress of a run: tiles done of the total and the arithmetic done so far.
public struct ProgressReport: Sendable {
    public let tilesDone: Int
    public let tilesTotal: Int
    public let flopsDone: Double
}

/// Counts finished tiles across device threads and reports them.
final class ProgressCounter: @unchecked Sendable {
    private let lock = NSLock()
    private var tiles = 0
    private var flops = 0.0
    let total: Int
    let report: (@Sendable (ProgressReport) -> Void)?

    init(total: Int, report: (@Sendable (ProgressReport) -> Void)?) {
        self.total = total
        self.report = report
    }

    func add(tiles: Int, flops: Double) {
        lock.lock()
        self.tiles += tiles
        self.flops += flops
        let snapshot = ProgressReport(tilesDone: self.tiles, tilesTotal: total, flopsDone: self.flops)
        lock.unlock()
        report?(snapshot)
    }

    var flopsDone: Double {
        lock.lock()
        defer { lock.unlock() }
        return flops
    }
}
