/// The k-th best of a stream of scores so far (a min-heap of the k best): where the exact ranking
/// stops re-scoring, and the TopK cut of the encoder's first pass (SelectionCut).
struct KBestScores {
    let k: Int
    private var heap: [Double] = []

    init(k: Int) {
        self.k = k
        heap.reserveCapacity(k)
    }

    /// The k-th best score inserted, once k have been.
    var kth: Double? { heap.count == k ? heap[0] : nil }

    mutating func insert(_ score: Double) {
        if heap.count < k {
            heap.append(score)
            var child = heap.count - 1
            while child > 0 {
                let parent = (child - 1) / 2
                guard heap[child] < heap[parent] else { break }
                heap.swapAt(child, parent)
                child = parent
            }
        } else if score > heap[0] {
            heap[0] = score
            var parent = 0
            while true {
                let left = 2 * parent + 1, right = left + 1
                var smallest = parent
                if left < k, heap[left] < heap[smallest] { smallest = left }
                if right < k, heap[right] < heap[smallest] { smallest = right }
                guard smallest != parent else { break }
                heap.swapAt(parent, smallest)
                parent = smallest
            }
        }
    }
}
