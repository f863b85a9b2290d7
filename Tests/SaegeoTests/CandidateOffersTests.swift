import CMicrokernels
import Foundation
import Testing
@testable import SaegeoCore

/// The candidate heaps' C offers against the plain definition: after any sequence of offers a
/// heap holds the best `capacity` values offered to it (above -inf, its own id excluded), and its
/// root is the lowest of them.
struct CandidateOffersTests {
    /// The best `capacity` of (score, id), as a sorted list; what a heap must hold.
    static func best(_ offered: [(score: Float, id: Int32)], capacity: Int) -> [Float] {
        Array(offered.map(\.score).sorted(by: >).prefix(capacity)).sorted()
    }

    static func contents(_ scores: UnsafeMutablePointer<Float>, capacity: Int) -> [Float] {
        (0..<capacity).map { scores[$0] }.filter { $0 > -.infinity }.sorted()
    }

    @Test("column offers: each column's heap holds its best values, on the upper triangle only rows before it")
    func columns() {
        var rng = SeededGenerator(seed: 31)
        for (rows, columns, capacity) in [(37, 53, 5), (300, 17, 96), (16, 16, 1), (9, 40, 48)] {
            for upper in [false, true] {
                let rowBase = upper ? Int(rng.next() % 20) : 0
                // Distinct values, so that the best set is unique.
                var values = (0..<rows * columns).map { Float($0) + 0.5 }
                values.shuffle(using: &rng)
                let rowIds = (0..<rows).map { Int32(1000 + $0) }
                // Column 3's id is row 2's: that pair is the row itself and must be skipped.
                var columnIds = (0..<columns).map { Int32(5000 + $0) }
                columnIds[3] = rowIds[2]
                let firstCandidate = 2
                var scores = [Float](repeating: -.infinity, count: (firstCandidate + columns) * capacity)
                var ids = [Int32](repeating: -1, count: scores.count)
                // In two column ranges, as two cores would.
                let split = columns / 3
                for range in [0..<split, split..<columns] {
                    saegeo_heap_offer_columns(values, columns, rows, rowIds, range.lowerBound, range.upperBound, upper ? 1 : 0,
                                              rowBase, &scores, &ids, capacity, firstCandidate, columnIds)
                }
                for c in 0..<columns {
                    let offered = (0..<rows).filter { (!upper || rowBase + $0 < c) && rowIds[$0] != columnIds[c] }
                        .map { (score: values[$0 * columns + c], id: rowIds[$0]) }
                    let slot = (firstCandidate + c) * capacity
                    scores.withUnsafeMutableBufferPointer { s in
                        #expect(Self.contents(s.baseAddress! + slot, capacity: capacity) == Self.best(offered, capacity: capacity),
                                "\(rows) x \(columns), capacity \(capacity), upper \(upper): column \(c)")
                        #expect(s[slot] == (0..<capacity).map { s[slot + $0] }.min()!, "column \(c)'s root is its lowest")
                    }
                    for i in 0..<capacity where scores[slot + i] > -.infinity {
                        #expect(values[(Int(ids[slot + i]) - 1000) * columns + c] == scores[slot + i], "column \(c): id and score together")
                    }
                }
            }
        }
    }

    @Test("row offers: the heap holds the row's best values but its own id's, NaN never taken")
    func row() {
        var rng = SeededGenerator(seed: 32)
        for (count, capacity) in [(1, 1), (15, 4), (16, 16), (17, 3), (1003, 96)] {
            var values = (0..<count).map { Float($0) - Float(count / 2) }
            values.shuffle(using: &rng)
            if count > 5 { values[4] = .nan }
            let keyIds = (0..<count).map { Int32($0) }
            let selfId = Int32(count / 3)
            var scores = [Float](repeating: -.infinity, count: capacity), ids = [Int32](repeating: -1, count: capacity)
            // In two pieces: the second starts from the first's heap.
            let half = count / 2
            values.withUnsafeBufferPointer { v in
                keyIds.withUnsafeBufferPointer { k in
                    saegeo_heap_offer_row(&scores, &ids, capacity, v.baseAddress!, k.baseAddress!, half, selfId)
                    saegeo_heap_offer_row(&scores, &ids, capacity, v.baseAddress! + half, k.baseAddress! + half, count - half, selfId)
                }
            }
            let offered = (0..<count).filter { keyIds[$0] != selfId && !values[$0].isNaN }.map { (score: values[$0], id: keyIds[$0]) }
            scores.withUnsafeMutableBufferPointer { s in
                #expect(Self.contents(s.baseAddress!, capacity: capacity) == Self.best(offered, capacity: capacity), "\(count), \(capacity)")
            }
            #expect(!ids.contains(selfId))
        }
    }
}
