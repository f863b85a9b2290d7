import Foundation
import Testing
@testable import SaegeoCore

/// The scheduler loop's promises on their own, with plain workers (numbers) in place of engines.
struct SchedulerLoopTests {
    @Test("items are merged in item order, each once, whichever worker finishes first; finals come in worker order")
    func mergesInItemOrder() throws {
        let merged = Locked<[Range<Int>]>([]), done = Locked<[Int: [Int]]>([:])
        let loop = SchedulerLoop(items: 100, cancellation: Cancellation(), batch: { worker in worker + 1 })
        let finals = try loop.run(on: [0, 1, 2], start: { _ in [Int]() }, item: { worker, mine, items in
            // Later items and the slower workers finish first, so the merge has to wait for them.
            usleep(UInt32((100 - items.lowerBound) * 20 + worker * 300))
            mine.append(contentsOf: items)
            return items.map { $0 * $0 }
        }, merge: { items, squares in
            #expect(squares == items.map { $0 * $0 })
            merged.withLock { $0.append(items) }
        }, finish: { worker, mine in
            done.withLock { $0[worker] = mine }
            return worker * 10
        })
        #expect(finals == [0, 10, 20])
        #expect(merged.current.flatMap { Array($0) } == Array(0..<100))
        // Every worker took some items, in ranges of its own batch size (fewer at the end).
        let taken = done.current
        #expect(taken.keys.sorted() == [0, 1, 2] && taken.values.allSatisfy { !$0.isEmpty }, "\(taken)")
        #expect(taken.values.flatMap { $0 }.sorted() == Array(0..<100))
        for range in merged.current where range.upperBound < 100 {
            let worker = taken.first { $0.value.contains(range.lowerBound) }!.key
            #expect(range.count == worker + 1, "worker \(worker) took \(range)")
        }
    }

    @Test("a failed worker stops the others, and the caller's flag stays down; a cancelled caller stops the pass")
    func failuresAndCancellation() throws {
        let caller = Cancellation(), itemsDone = Locked(0)
        let loop = SchedulerLoop(items: 10_000, cancellation: caller)
        #expect(throws: SaegeoError.self) {
            try loop.run(on: [0, 1], start: { _ in () }, item: { worker, _, items in
                if worker == 1, items.lowerBound > 20 { throw SaegeoError.badInput("device 1 failed") }
                usleep(500)
                itemsDone.withLock { $0 += 1 }
            })
        }
        #expect(!caller.isCancelled)
        #expect(itemsDone.current < 1000, "\(itemsDone.current) items ran after the failure")

        caller.cancel()
        let after = Locked(0)
        let cancelled = SchedulerLoop(items: 10, cancellation: caller)
        do {
            try cancelled.run(on: [()], start: { _ in () }, item: { _, _, _ in after.withLock { $0 += 1 } })
            Issue.record("a cancelled pass returned")
        } catch let error as SaegeoError {
            #expect(error.kind == .interrupted)
        }
        #expect(after.current == 0)
    }
}
