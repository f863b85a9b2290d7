import Foundation

/// Runs one worker per engine, each on its own thread (an engine is used by one thread at a
/// time), and waits for all of them. The first error cancels the others and is rethrown.
enum DeviceThreads {
    /// An engine handed to its own thread.
    struct Handle: @unchecked Sendable {
        let engine: NeighborEngine
        let index: Int
    }

    static func run(_ engines: [NeighborEngine], cancellation: Cancellation,
                    _ work: @escaping @Sendable (Handle) throws -> Void) throws {
        if engines.count == 1 {
            try work(Handle(engine: engines[0], index: 0))
            return
        }
        let group = DispatchGroup()
        let lock = NSLock()
        nonisolated(unsafe) var firstError: Error?
        for (index, engine) in engines.enumerated() {
            let handle = Handle(engine: engine, index: index)
            group.enter()
            Thread.detachNewThread {
                defer { group.leave() }
                do {
                    try work(handle)
                } catch {
                    lock.lock()
                    if firstError == nil { firstError = error }
                    lock.unlock()
                    cancellation.cancel()
                }
            }
        }
        group.wait()
        if let firstError { throw firstError }
    }
}

/// Hands out consecutive ranges of work to whichever device asks next, so faster devices take
/// more: the balance follows their measured speed as the run goes.
final class WorkQueue: @unchecked Sendable {
    private let lock = NSLock()
    private var next = 0
    let count: Int

    init(count: Int) { self.count = count }

    func take(_ size: Int) -> Range<Int>? {
        lock.lock()
        defer { lock.unlock() }
        guard next < count else { return nil }
        let range = next..<min(count, next + max(1, size))
        next = range.upperBound
        return range
    }
}
