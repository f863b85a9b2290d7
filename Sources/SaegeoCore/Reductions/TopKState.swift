import Foundation

/// The running K largest pre-activations of each token across feature tiles.
struct TopKState: Sendable {
    let k: Int
    var values: [Float]
    var ids: [Int32]

    init(k: Int, rows: Int) {
        self.k = k
        values = [Float](repeating: -.infinity, count: rows * k)
        ids = [Int32](repeating: -1, count: rows * k)
    }

    mutating func offer(_ pre: [Float], features: Range<Int>, bias: [Float]) {
        let width = features.count, k = self.k
        let rows = k == 0 ? 0 : values.count / k
        values.withUnsafeMutableBufferPointer { v in
            ids.withUnsafeMutableBufferPointer { i in
                let vBase = UnsafeSendablePointer(v.baseAddress!), iBase = UnsafeSendablePointer(i.baseAddress!)
                parallelChunks(rows) { range in
                    for row in range {
                        let heap = CandidateHeap(scores: vBase.pointer + row * k, ids: iBase.pointer + row * k, capacity: k)
                        for j in 0..<width {
                            let value = pre[row * width + j] + bias[features.lowerBound + j]
                            // Ties at the K-th value keep the lower feature (offered first).
                            if value > heap.threshold { heap.replaceRoot(score: value, id: Int32(features.lowerBound + j)) }
                        }
                    }
                }
            }
        }
    }
}
