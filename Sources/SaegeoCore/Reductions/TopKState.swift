import Foundation

/// The running selection of each token across feature tiles: its K largest pre-activations
/// (TopK), or the largest of each of its K feature groups (GroupMax, one slot per group).
struct TopKState: Sendable {
    let k: Int
    /// Features per group for GroupMax; 0 for TopK.
    let groupSize: Int
    var values: [Float]
    var ids: [Int32]

    init(k: Int, rows: Int, groupSize: Int = 0) {
        self.k = k
        self.groupSize = groupSize
        values = [Float](repeating: -.infinity, count: rows * k)
        ids = [Int32](repeating: -1, count: rows * k)
    }

    /// The selection `activation` makes over `features` features.
    init(_ activation: EncoderActivation, features: Int, rows: Int) {
        if case .groupMax(let groups) = activation {
            self.init(k: groups, rows: rows, groupSize: features / groups)
        } else {
            self.init(k: activation.k, rows: rows)
        }
    }

    mutating func offer(_ pre: UnsafeBufferPointer<Float>, features: Range<Int>, bias: [Float]) {
        let width = features.count, k = self.k, groupSize = self.groupSize
        let rows = k == 0 ? 0 : values.count / k
        if groupSize > 0 {
            // Each group's largest value; ties keep the lower feature (offered first).
            for row in 0..<rows {
                for j in 0..<width {
                    let f = features.lowerBound + j, slot = row * k + f / groupSize
                    let value = pre[row * width + j] + bias[f]
                    if value > values[slot] { values[slot] = value; ids[slot] = Int32(f) }
                }
            }
            return
        }
        values.withUnsafeMutableBufferPointer { v in
            ids.withUnsafeMutableBufferPointer { i in
                let vBase = UnsafeSendablePointer(v.baseAddress!), iBase = UnsafeSendablePointer(i.baseAddress!)
                guard let preBase = pre.baseAddress.map({ UnsafeSendablePointer($0) }) else { return }
                parallelChunks(rows) { range in
                    let pre = preBase.pointer
                    for row in range {
                        let values = vBase.pointer + row * k, ids = iBase.pointer + row * k
                        for j in 0..<width {
                            let value = pre[row * width + j] + bias[features.lowerBound + j]
                            // Features come in ascending order: a tie with the K-th value stays out.
                            if value > values[0] { Self.replaceRoot(values, ids, k, value, Int32(features.lowerBound + j)) }
                        }
                    }
                }
            }
        }
    }
}

extension TopKState {
    /// The min-heap of a token's K kept values, ordered by value and, among equal values, with the
    /// higher feature nearer the root (dropped first): the kept set is the K largest by (value,
    /// lower feature), whatever else was offered before. So a selection that is offered only the
    /// features that can be in it (the certified bfloat16 first pass) keeps the same features.
    @inline(__always)
    static func replaceRoot(_ values: UnsafeMutablePointer<Float>, _ ids: UnsafeMutablePointer<Int32>, _ k: Int,
                            _ value: Float, _ id: Int32) {
        @inline(__always) func dropsBefore(_ a: Int, _ value: Float, _ id: Int32) -> Bool {
            values[a] < value || (values[a] == value && ids[a] > id)
        }
        var i = 0
        while true {
            let left = 2 * i + 1
            if left >= k { break }
            let right = left + 1
            let child = right < k && dropsBefore(right, values[left], ids[left]) ? right : left
            if !dropsBefore(child, value, id) { break }
            values[i] = values[child]
            ids[i] = ids[child]
            i = child
        }
        values[i] = value
        ids[i] = id
    }
}

extension SampleAccumulators {
    /// The epilogue's `selection` (TopK, GroupMax): a tile's pre-activations without bias,
    /// [chunk rows, tile width], offered to each token's running selection. Public, so that a
    /// backend outside SaegeoCore selects through it too.
    public mutating func select(preActivations pre: UnsafeBufferPointer<Float>, features: Range<Int>, bias: [Float]) {
        precondition(epilogue.selection && selection != nil, "a selecting epilogue")
        selection!.offer(pre, features: features, bias: bias)
    }

    public mutating func select(preActivations pre: [Float], features: Range<Int>, bias: [Float]) {
        pre.withUnsafeBufferPointer { select(preActivations: $0, features: features, bias: bias) }
    }
}
