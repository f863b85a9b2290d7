import Foundation

/// Runs `count` workers, each on its own thread (an engine is used by one thread at a time), and
/// waits for all of them; a single worker runs on the calling thread. The first error cancels the
/// others and is rethrown. SchedulerLoop runs every pass through here.
enum DeviceThreads {
    static func run(_ count: Int, cancellation: Cancellation, _ work: @escaping @Sendable (Int) throws -> Void) throws {
        if count == 1 {
            try work(0)
            return
        }
        let group = DispatchGroup()
        let firstError = Locked<Error?>(nil)
        for index in 0..<count {
            group.enter()
            Thread.detachNewThread {
                defer { group.leave() }
                do {
                    try work(index)
                } catch {
                    firstError.withLock { if $0 == nil { $0 = error } }
                    cancellation.cancel()
                }
            }
        }
        group.wait()
        if let error = firstError.current { throw error }
    }
}

/// Hands out consecutive ranges of work items to whichever device asks next, so faster devices
/// take more: the balance follows their measured speed as the run goes.
final class WorkQueue: Sendable {
    private let next = Locked(0)
    let count: Int

    init(count: Int) { self.count = count }

    func take(_ size: Int) -> Range<Int>? {
        next.withLock { next in
            guard next < count else { return nil }
            let range = next..<min(count, next + max(1, size))
            next = range.upperBound
            return range
        }
    }
}
