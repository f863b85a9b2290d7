/// The N samples with the highest scores, in the geometry filter's order (score descending, ties to
/// the lower sample index), kept in a bounded min-heap while millions of samples stream by: its
/// root is the weakest of those kept, and a new sample replaces it only when it ranks higher.
struct RiskiestSamples<Payload> {
    struct Entry {
        let sample: Int
        let score: Float
        let payload: Payload
    }

    let limit: Int
    private var heap: [Entry] = []

    init(limit: Int) {
        self.limit = max(0, limit)
        heap.reserveCapacity(min(self.limit, 1 << 16))
    }

    /// Whether a ranks above b in the filter's order.
    static func ranksAbove(_ a: (score: Float, sample: Int), _ b: (score: Float, sample: Int)) -> Bool {
        a.score != b.score ? a.score > b.score : a.sample < b.sample
    }

    /// Whether a sample would be kept; ask before building its payload (decoding an explanation).
    func admits(sample: Int, score: Float) -> Bool {
        guard limit > 0 else { return false }
        guard heap.count == limit else { return true }
        return Self.ranksAbove((score, sample), (heap[0].score, heap[0].sample))
    }

    mutating func offer(sample: Int, score: Float, payload: () throws -> Payload) rethrows {
        guard admits(sample: sample, score: score) else { return }
        let entry = Entry(sample: sample, score: score, payload: try payload())
        if heap.count < limit {
            heap.append(entry)
            siftUp(heap.count - 1)
        } else {
            heap[0] = entry
            siftDown(0)
        }
    }

    /// The kept samples, highest first.
    var ranked: [Entry] {
        heap.sorted { Self.ranksAbove(($0.score, $0.sample), ($1.score, $1.sample)) }
    }

    /// a is weaker than b: it leaves the heap first.
    private func weaker(_ a: Int, _ b: Int) -> Bool {
        Self.ranksAbove((heap[b].score, heap[b].sample), (heap[a].score, heap[a].sample))
    }

    private mutating func siftUp(_ index: Int) {
        var child = index
        while child > 0 {
            let parent = (child - 1) / 2
            guard weaker(child, parent) else { return }
            heap.swapAt(child, parent)
            child = parent
        }
    }

    private mutating func siftDown(_ index: Int) {
        var parent = index
        while true {
            let left = 2 * parent + 1, right = left + 1
            var weakest = parent
            if left < heap.count, weaker(left, weakest) { weakest = left }
            if right < heap.count, weaker(right, weakest) { weakest = right }
            guard weakest != parent else { return }
            heap.swapAt(parent, weakest)
            parent = weakest
        }
    }
}
