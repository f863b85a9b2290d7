/// The one loop every pass runs through: query blocks, all pairs, a shard's pairs, the dataset's
/// chunks and the null sets' draws. Workers (one per device on its own thread, or the host alone)
/// take items from one queue, faster ones more; the loop
/// - checks cancellation before every item and at every `step` inside one, so Ctrl-C
///   (ProcessGuard) stops any pass within a tile, a chunk or a block of draws;
/// - counts progress (`step`);
/// - stages each worker once (`start`) and finishes it once (`finish`, results in worker order);
/// - hands each item's result to `merge` in item order, whichever worker finished it first, one
///   merge at a time, so what is merged keeps its bits however the items fell on the devices.
/// A failed worker stops the others through the loop's own flag, never the caller's.
struct SchedulerLoop: Sendable {
    let items: Int
    /// The pass's own flag, a child of the caller's: raised by a failed worker or by the caller.
    let cancellation: Cancellation
    let progress: ProgressCounter?
    /// How many consecutive items worker `index` takes at once (at least 1).
    let batch: @Sendable (_ worker: Int) -> Int

    init(items: Int, cancellation: Cancellation, progress: ProgressCounter? = nil,
         batch: @escaping @Sendable (_ worker: Int) -> Int = { _ in 1 }) {
        self.items = items
        self.cancellation = Cancellation(parent: cancellation)
        self.progress = progress
        self.batch = batch
    }

    /// One step of an item done (a tile, a chunk): counted, then the pass stops here if cancelled.
    func step(tiles: Int = 1, flops: Double = 0) throws {
        progress?.add(tiles: tiles, flops: flops)
        try cancellation.check()
    }

    /// Runs the pass on `workers` (engines, or `[()]` for the host); returns each worker's
    /// `finish` in worker order. `item` gets a range of consecutive items (`batch` of them, fewer
    /// at the end).
    func run<Worker, State, Output: Sendable, Final: Sendable>(
        on workers: [Worker],
        start: @escaping @Sendable (Worker) throws -> State,
        item: @escaping @Sendable (Worker, inout State, Range<Int>) throws -> Output,
        merge: (@Sendable (Range<Int>, Output) throws -> Void)? = nil,
        finish: @escaping @Sendable (Worker, inout State) throws -> Final
    ) throws -> [Final] {
        precondition(!workers.isEmpty, "a pass needs a worker")
        let queue = WorkQueue(count: items), merger = OrderedMerge<Output>(merge)
        let finals = Locked<[Final?]>(Array(repeating: nil, count: workers.count))
        let loop = self, workers = UncheckedBox(workers)
        try DeviceThreads.run(workers.value.count, cancellation: cancellation) { index in
            let worker = workers.value[index]
            var state = try start(worker)
            while let taken = queue.take(loop.batch(index)) {
                try loop.cancellation.check()
                let output = try item(worker, &state, taken)
                try merger.deposit(taken, output)
            }
            let final = try finish(worker, &state)
            finals.withLock { $0[index] = final }
        }
        try cancellation.check()
        return finals.current.map { $0! }
    }

    /// The pass without per-worker results.
    func run<Worker, State, Output: Sendable>(
        on workers: [Worker],
        start: @escaping @Sendable (Worker) throws -> State,
        item: @escaping @Sendable (Worker, inout State, Range<Int>) throws -> Output,
        merge: (@Sendable (Range<Int>, Output) throws -> Void)? = nil
    ) throws {
        _ = try run(on: workers, start: start, item: item, merge: merge, finish: { _, _ in true })
    }
}

/// A value handed to the one thread that uses it.
private struct UncheckedBox<Value>: @unchecked Sendable {  // because each worker (an engine) is used by exactly one thread
    let value: Value
    init(_ value: Value) { self.value = value }
}

/// Items' results merged in item order: a finished item waits in `pending` until every item
/// before it is merged. One thread merges at a time, outside the lock, while the others deposit
/// and go back to work.
final class OrderedMerge<Output: Sendable>: Sendable {
    private struct State {
        var next = 0
        var pending: [Int: (range: Range<Int>, output: Output)] = [:]
        var merging = false
    }

    private let merge: (@Sendable (Range<Int>, Output) throws -> Void)?
    private let state = Locked(State())

    init(_ merge: (@Sendable (Range<Int>, Output) throws -> Void)?) { self.merge = merge }

    func deposit(_ range: Range<Int>, _ output: Output) throws {
        guard let merge else { return }
        let mine = state.withLock { state -> Bool in
            state.pending[range.lowerBound] = (range, output)
            guard !state.merging else { return false }
            state.merging = true
            return true
        }
        guard mine else { return }
        while true {
            let ready = state.withLock { state -> (range: Range<Int>, output: Output)? in
                guard let ready = state.pending.removeValue(forKey: state.next) else {
                    state.merging = false
                    return nil
                }
                state.next = ready.range.upperBound
                return ready
            }
            guard let ready else { return }
            // A failed merge keeps `merging` raised: nothing after it is merged (the pass throws).
            try merge(ready.range, ready.output)
        }
    }
}
