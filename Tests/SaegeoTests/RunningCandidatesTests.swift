import CMicrokernels
import Foundation
import Testing
@testable import SaegeoCore

/// The running candidate lists (RunningCandidates, candidate_offers.c) against the plain
/// definition: after any sequence of row and column offers, each row holds the best `perRow`
/// values offered to it and its seed (above -inf, its own id excluded, NaN never), each with an
/// id it was offered with, as a min-heap. Both the AVX-512 and the portable offers, since the
/// flushes of each run at different points.
struct RunningCandidatesTests {
    struct Offer { let row: Int; let score: Float; let id: Int32 }

    /// Random offers of rows and columns to `rows` lists, checked against their reference. (Lists
    /// of 1030 flush more than fit the stack copy: flush_large.)
    static func check(rows: Int, perRow: Int, seeded: Bool, ties: Bool, portable: Bool, seed: UInt64) {
        var rng = SeededGenerator(seed: seed)
        func value() -> Float {
            let v = Float(rng.next() % 100_000) / 100_000 - 0.3
            return ties ? (v * 16).rounded() / 16 : v
        }
        var offered = [[Offer]](repeating: [], count: rows)
        var seedLists: CandidateLists?
        if seeded {
            // A seed as a finished pass writes it: each row best first, -inf padding.
            var scores: [Float] = [], ids: [Int32] = []
            for row in 0..<rows {
                let count = Int(rng.next() % UInt64(perRow + 1))
                let values = (0..<count).map { _ in value() }.sorted(by: >)
                for (i, v) in values.enumerated() { offered[row].append(Offer(row: row, score: v, id: Int32(900_000 + i))) }
                scores += values + [Float](repeating: -.infinity, count: perRow - count)
                ids += (0..<count).map { Int32(900_000 + $0) } + [Int32](repeating: -1, count: perRow - count)
            }
            seedLists = CandidateLists(rows: rows, perRow: perRow, ids: ids, scores: scores)
        }
        var lists = RunningCandidates(rows: rows, perRow: perRow, seed: seedLists)
        lists.portableOffers = portable
        var nextId: Int32 = 0
        for _ in 0..<12 {
            if rng.next() % 2 == 0 {
                // A row offer of an awkward length, with the row's own id and a NaN among them.
                let row = Int(rng.next() % UInt64(rows)), count = Int(rng.next() % 300)
                var values = (0..<count).map { _ in value() }
                let keyIds = (0..<count).map { _ in nextId + Int32(rng.next() % 1000) }
                nextId += 1000
                let selfId = count > 3 ? keyIds[2] : -7
                if count > 5 { values[5] = .nan }
                values.withUnsafeBufferPointer { v in
                    keyIds.withUnsafeBufferPointer { k in
                        lists.withOffers { $0.offer(row: row, values: v.baseAddress!, keyIds: k.baseAddress!, count: count, selfId: selfId) }
                    }
                }
                for j in 0..<count where keyIds[j] != selfId && !values[j].isNaN {
                    offered[row].append(Offer(row: row, score: values[j], id: keyIds[j]))
                }
            } else {
                // A band of a tile offered to its columns' lists, maybe on the upper triangle.
                let bandRows = 1 + Int(rng.next() % 70), first = Int(rng.next() % UInt64(rows))
                let columns = first..<min(rows, first + 1 + Int(rng.next() % 40))
                let upper = rng.next() % 3 == 0, rowBase = Int(rng.next() % 30)
                let ld = rows, values = (0..<bandRows * ld).map { _ in value() }
                let rowIds = (0..<bandRows).map { nextId + Int32($0) }
                nextId += Int32(bandRows)
                // Column c's own id is one of the band's rows for some columns.
                let columnIds = (0..<rows).map { $0 % 5 == 0 ? rowIds[$0 % bandRows] : Int32(-100 - $0) }
                values.withUnsafeBufferPointer { v in
                    rowIds.withUnsafeBufferPointer { r in
                        columnIds.withUnsafeBufferPointer { c in
                            lists.withOffers {
                                $0.offerColumns(v.baseAddress!, ld: ld, rows: rowBase..<(rowBase + bandRows), rowIds: r.baseAddress!,
                                                columns: columns, upperTriangle: upper, firstCandidate: 0, columnIds: c.baseAddress!)
                            }
                        }
                    }
                }
                for c in columns {
                    for r in 0..<bandRows where (!upper || rowBase + r < c) && rowIds[r] != columnIds[c] {
                        offered[c].append(Offer(row: c, score: values[r * ld + c], id: rowIds[r]))
                    }
                }
            }
        }
        let result = lists.finish(errorBound: nil)
        for row in 0..<rows {
            let slots = (row * perRow)..<((row + 1) * perRow)
            let kept = slots.map { result.scores[$0] }
            let best = Array(offered[row].map(\.score).sorted(by: >).prefix(perRow))
            let label = "\(rows) lists of \(perRow), seeded \(seeded), ties \(ties), portable \(portable): row \(row)"
            #expect(kept.filter { $0 > -.infinity }.sorted(by: >) == best, "\(label): the best values")
            for slot in slots where result.scores[slot] > -.infinity {
                #expect(offered[row].contains { $0.id == result.ids[slot] && $0.score == result.scores[slot] }, "\(label): an offered pair")
            }
            for i in 1..<perRow { #expect(!(kept[i] < kept[(i - 1) / 2]), "\(label): a min-heap") }
        }
    }

    @Test("every list holds the best values offered, rows and columns mixed, both offers",
          arguments: [(9, 1), (23, 5), (40, 17), (31, 48), (17, 96), (12, 100), (2, 1030)])
    func mixed(rows: Int, perRow: Int) {
        for portable in [false, true] {
            for (seeded, ties) in [(false, false), (true, false), (false, true), (true, true)] {
                Self.check(rows: rows, perRow: perRow, seeded: seeded, ties: ties, portable: portable,
                           seed: UInt64(rows * 1000 + perRow) &+ (seeded ? 7 : 0) &+ (ties ? 13 : 0))
            }
        }
    }

    @Test("a row offer that fills the pending slots exactly, then a column's one at a time")
    func fullThenColumn() {
        // Lists of 17 have 32 pending slots: 32 rising values fill them in two vectors of 16.
        for portable in [false, true] {
            var lists = RunningCandidates(rows: 2, perRow: 17)
            lists.portableOffers = portable
            let values = (0..<32).map { Float($0) }, ids = (0..<Int32(32)).map { $0 }
            let band: [Float] = [100, 0, 101, 0, 102, 0], rowIds: [Int32] = [40, 41, 42], columnIds: [Int32] = [-1, -2]
            lists.withOffers { offers in
                offers.offer(row: 0, values: values, keyIds: ids, count: 32, selfId: -1)
                offers.offer(row: 1, values: values, keyIds: ids, count: 32, selfId: -1)
                offers.offerColumns(band, ld: 2, rows: 0..<3, rowIds: rowIds, columns: 0..<1, upperTriangle: false,
                                    firstCandidate: 0, columnIds: columnIds)
            }
            let result = lists.finish(errorBound: nil)
            #expect(Set(result.ids[0..<17]) == Set((18..<32).map { Int32($0) } + [40, 41, 42]),
                    "portable \(portable): \(result.ids[0..<17])")
            #expect(Set(result.ids[17..<34]) == Set((15..<32).map { Int32($0) }), "portable \(portable): row 1 untouched")
        }
    }

    @Test("a flush keeps the earliest of tied values and the bar rises to the cut")
    func flushAtTies() {
        // Lists of 4: offered 1, 2, 2, 2, 2, 3, 2 (ids 0...6) in one row offer. The best four are 3
        // and three 2s: the first three 2s offered, by the tie rule.
        var lists = RunningCandidates(rows: 1, perRow: 4)
        let values: [Float] = [1, 2, 2, 2, 2, 3, 2] + [Float](repeating: 0, count: 40)
        let ids = (0..<Int32(values.count)).map { $0 }
        for portable in [false, true] {
            lists = RunningCandidates(rows: 1, perRow: 4)
            lists.portableOffers = portable
            lists.withOffers { $0.offer(row: 0, values: values, keyIds: ids, count: values.count, selfId: -1) }
            let result = lists.finish(errorBound: nil)
            #expect(Set(result.ids) == [1, 2, 3, 5], "portable \(portable): \(result.ids)")
        }
    }
}
