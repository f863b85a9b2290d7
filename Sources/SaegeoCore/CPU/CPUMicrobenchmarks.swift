import Foundation

/// The CPU engine's selection, a step of KernelMicrobenchmarks: per-row lists of k + max(16, k/2) (RunningCandidates) offered `keys` similarities.
public final class CandidateSelectionBenchmark {
    private let scores: [Float]
    private let ids: [Int32]
    private let rows: Int, keys: Int, perRow: Int
    public var candidates: Int { rows * keys }

    public init(k: Int, rows: Int, keys: Int) {
        self.rows = rows
        self.keys = keys
        perRow = NeighborSearch.candidates(k: k, keys: .max)
        scores = SeededGenerator.uniformFloats(rows * keys, seed: 3)
        ids = (0..<Int32(keys)).map { $0 }
    }

    /// One pass on one core; returns the lowest kept score of the last row (so it is used).
    @discardableResult
    public func run() -> Float {
        var lists = RunningCandidates(rows: rows, perRow: perRow)
        let keys = self.keys
        scores.withUnsafeBufferPointer { s in
            ids.withUnsafeBufferPointer { keyIds in
                lists.withOffers { offers in
                    for row in 0..<rows {
                        offers.offer(row: row, values: s.baseAddress! + row * keys, keyIds: keyIds.baseAddress!, count: keys, selfId: -1)
                    }
                }
            }
        }
        return lists.finish(errorBound: nil).scores[(rows - 1) * perRow]
    }
}

/// OpenBLAS sgemm of the similarity product (the CPU engine's kernel) on every core.
public final class SgemmBenchmark {
    private let q: [Float], k: [Float]
    private var s: [Float]
    private let rows: Int, columns: Int, dimension: Int
    public var flops: Double { 2 * Double(rows) * Double(columns) * Double(dimension) }

    public init(rows: Int, columns: Int, dimension: Int) {
        (self.rows, self.columns, self.dimension) = (rows, columns, dimension)
        q = SeededGenerator.uniformFloats(rows * dimension, seed: 1)
        k = SeededGenerator.uniformFloats(columns * dimension, seed: 2)
        s = [Float](repeating: 0, count: rows * columns)
        CBLAS.setThreads(ProcessInfo.processInfo.activeProcessorCount)
    }

    public func run() {
        let (rows, columns, dimension) = (self.rows, self.columns, self.dimension)
        q.withUnsafeBufferPointer { q in
            k.withUnsafeBufferPointer { k in
                s.withUnsafeMutableBufferPointer { s in
                    CBLAS.multiplyTransposed(m: rows, n: columns, k: dimension, a: q.baseAddress!, lda: dimension,
                                             b: k.baseAddress!, ldb: dimension, c: s.baseAddress!, ldc: columns)
                }
            }
        }
    }
}
