/// Progress of a run: tiles done of the total and the arithmetic done so far.
public struct ProgressReport: Sendable {
    public let tilesDone: Int
    public let tilesTotal: Int
    public let flopsDone: Double
}

/// Counts finished tiles across device threads and reports them.
final class ProgressCounter: Sendable {
    private let done = Locked((tiles: 0, flops: 0.0))
    let total: Int
    let report: (@Sendable (ProgressReport) -> Void)?

    init(total: Int, report: (@Sendable (ProgressReport) -> Void)?) {
        self.total = total
        self.report = report
    }

    func add(tiles: Int, flops: Double) {
        let snapshot = done.withLock { done in
            done.tiles += tiles
            done.flops += flops
            return ProgressReport(tilesDone: done.tiles, tilesTotal: total, flopsDone: done.flops)
        }
        report?(snapshot)
    }

    var flopsDone: Double { done.current.flops }
}
