import Foundation

/// Runs one worker per engine, each on its own thread (an engine is used by one thread at a
/// time), and waits for all of them; a single engine works on the calling thread. The first error
/// cancels the others and is rethrown. Every workload runs its devices through here.
enum DeviceThreads {
    /// An engine handed to its own thread.
    struct Handle: @unchecked Sendable {  // because an engine (a C handle holder) moves to exactly one thread
        let engine: ComputeEngine
        let index: Int
    }

    static func run(_ engines: [ComputeEngine], cancellation: Cancellation,
                    _ work: @escaping @Sendable (Handle) throws -> Void) throws {
        if engines.count == 1 {
            try work(Handle(engine: engines[0], index: 0))
            return
        }
        let group = DispatchGroup()
        let firstError = Locked<Error?>(nil)
        for (index, engine) in engines.enumerated() {
            let handle = Handle(engine: engine, index: index)
            group.enter()
            Thread.detachNewThread {
                defer { group.leave() }
                do {
                    try work(handle)
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

/// One result per device thread, in device order.
final class ResultSlots<Result: Sendable>: Sendable {
    private let slots: Locked<[Result?]>

    init(count: Int) { slots = Locked(Array(repeating: nil, count: count)) }

    func set(_ index: Int, _ result: Result) { slots.withLock { $0[index] = result } }

    var all: [Result] { slots.withLock { $0.compactMap { $0 } } }
}
