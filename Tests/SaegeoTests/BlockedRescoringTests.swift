import CMicrokernels
import Foundation
import Testing
@testable import SaegeoCore

/// The exact ranking's re-scoring, taken key block by key block (BlockedRescoring) in two rounds
/// (ExactRanking.firstRound / secondRound), against its definitions written plainly: the same
/// bits as Exact.dot for every pair, and the same top k as every key scored in float64.
struct BlockedRescoringTests {
    /// A dictionary of random rows, magnitudes spread so that the order of the additions shows.
    static func rows(features: Int, d: Int, seed: UInt64) -> [Float] {
        var rng = SeededGenerator(seed: seed)
        return (0..<features * d).map { _ in Float(rng.gaussian()) * Float(pow(2.0, Double(Int(rng.next() % 13) - 6))) }
    }

    static func matrix(features: Int, d: Int, seed: UInt64, layout: FeatureMatrix.Layout = .rows,
                       rows: [Float]? = nil) -> FeatureMatrix {
        let rows = rows ?? Self.rows(features: features, d: d, seed: seed)
        var values = rows
        if layout == .columns {
            for f in 0..<features { for i in 0..<d { values[i * features + f] = rows[f * d + i] } }
        }
        let file = values.withUnsafeBytes { MappedFile(copying: $0, path: "dictionary") }
        return FeatureMatrix(file: file, byteOffset: 0, features: features, dimension: d, scalarType: .f32, layout: layout)
    }

    /// The definition: Exact.dot (Swift, four lane sums in a fixed order) over both float64 norms.
    static func cosine(_ a: FeatureMatrix, _ q: Int, _ b: FeatureMatrix, _ key: Int, _ na: FeatureNorms, _ nb: FeatureNorms) -> Double {
        var x = [Float](repeating: 0, count: a.dimension), y = x
        a.copyFeature(q, into: &x)
        b.copyFeature(key, into: &y)
        let wide = x.map(Double.init)
        return Exact.dot(wide, y, count: a.dimension) / (na.norms[q] * nb.norms[key])
    }

    @Test("saegeo_exact_dots and saegeo_exact_pair_dots give Exact.dot's bits for any number of rows and any length")
    func exactDots() {
        var rng = SeededGenerator(seed: 91)
        for n in [0, 1, 3, 4, 5, 67, 301, 2304, 2311] {
            for count in [1, 2, 3, 4, 5, 7, 8, 9] {
                // Magnitudes over 2^±40, subnormals and signed zeros among them.
                func value() -> Float {
                    switch rng.next() % 17 {
                    case 0: return .leastNonzeroMagnitude * Float(rng.next() % 5)
                    case 1: return -0.0
                    default: return Float(rng.gaussian()) * Float(pow(2.0, Double(Int(rng.next() % 81) - 40)))
                    }
                }
                let x = (0..<n).map { _ in value() }
                let rows = (0..<count).map { _ in (0..<n).map { _ in value() } }
                var out = [Double](repeating: .nan, count: count)
                let pointers = rows.map { $0.withUnsafeBufferPointer { UnsafePointer<Float>?($0.baseAddress!) } }
                // Arrays keep their storage while `rows` lives; the pointers are read right away.
                withExtendedLifetime(rows) {
                    pointers.withUnsafeBufferPointer { saegeo_exact_dots(x, $0.baseAddress!, count, n, &out) }
                }
                let wide = x.map(Double.init)
                for r in 0..<count {
                    let reference = Exact.dot(wide, rows[r], count: n)
                    #expect(out[r].bitPattern == reference.bitPattern, "n \(n), row \(r) of \(count): \(out[r]) against \(reference)")
                }
                // The same against a query of its own per row, as pairs.
                let queries = (0..<count).map { _ in (0..<n).map { _ in value() } }
                let queryPointers = queries.map { $0.withUnsafeBufferPointer { UnsafePointer<Float>?($0.baseAddress!) } }
                withExtendedLifetime((rows, queries)) {
                    queryPointers.withUnsafeBufferPointer { xs in
                        pointers.withUnsafeBufferPointer { ys in saegeo_exact_pair_dots(xs.baseAddress!, ys.baseAddress!, count, n, &out) }
                    }
                }
                for r in 0..<count {
                    let reference = Exact.dot(queries[r].map(Double.init), rows[r], count: n)
                    #expect(out[r].bitPattern == reference.bitPattern, "pairs: n \(n), pair \(r) of \(count): \(out[r]) against \(reference)")
                }
            }
        }
    }

    @Test("the ranking's order keys sort as (score descending, id ascending) and give the score back")
    func orderKeys() {
        var rng = SeededGenerator(seed: 93)
        let special: [Float] = [0, -0.0, 1, -1, .infinity, -.infinity, .leastNonzeroMagnitude, -.leastNonzeroMagnitude,
                                .greatestFiniteMagnitude, -.greatestFiniteMagnitude]
        let candidates = (0..<2000).map { i -> (score: Float, id: Int32) in
            let score = i < special.count ? special[i] : Float(Int(rng.next() % 41) - 20) / 16
            return (score, Int32(Int(rng.next() % 50)) - 5)
        }
        let reference = candidates.sorted { $0.score != $1.score ? $0.score > $1.score : $0.id < $1.id }
        let keyed = candidates.map { ExactRanking.orderKey(score: $0.score, id: $0.id) }.sorted()
        for (key, expected) in zip(keyed, reference) {
            #expect(ExactRanking.score(ofKey: key) == expected.score && Int32(bitPattern: UInt32(truncatingIfNeeded: key) ^ 0x8000_0000) == expected.id)
        }
    }

    @Test("blocked re-scoring: every wanted pair gets the definition's bits, for any block size, layout and reading")
    func blockedPairs() {
        let features = 203, d = 37
        for layout in [FeatureMatrix.Layout.rows, .columns] {
            let keys = Self.matrix(features: features, d: d, seed: 5, layout: layout)
            let norms = FeatureNorms(of: keys, features: Array(0..<features))
            let other = Self.matrix(features: 41, d: d, seed: 6)
            let otherNorms = FeatureNorms(of: other, features: Array(0..<41))
            for twoDictionaries in [false, true] {
                for inPlace in [false, true] {
                    var ranking = ExactRanking(dictionary: keys, norms: norms, liveKeys: (0..<Int32(features)).map { $0 }, k: 5)
                    ranking.readsInPlace = inPlace
                    if twoDictionaries { ranking.querySide = (other, otherNorms) }
                    var rng = SeededGenerator(seed: 7)
                    let rows = 29, perRow = 70
                    // One dictionary: distinct queries, and candidates that are often other rows'
                    // queries (pairs asked for from both sides, some twice in a row).
                    let queries = twoDictionaries ? (0..<rows).map { _ in Int(rng.next() % 41) }
                                                  : Array((0..<features).shuffled(using: &rng).prefix(rows))
                    let ids = (0..<rows * perRow).map { _ in
                        Int32(!twoDictionaries && rng.next() % 2 == 0 ? queries[Int(rng.next() % UInt64(rows))]
                                                                       : Int(rng.next() % UInt64(features)))
                    }
                    let wanted = (0..<rows).map { _ -> Range<Int> in
                        let a = Int(rng.next() % 71), b = Int(rng.next() % 71)
                        return min(a, b)..<max(a, b)
                    }
                    // The twins: mutual, each the same pair seen from the other side.
                    let twins = BlockedRescoring.twins(rows: rows, perRow: perRow, queries: queries, ids: ids, wanted: wanted,
                                                       features: twoDictionaries ? 0 : features)
                    #expect(twoDictionaries ? twins.isEmpty : twins.filter { $0 >= 0 }.count > 20)
                    for (slot, twin) in twins.enumerated() where twin >= 0 {
                        #expect(twins[Int(twin)] == Int32(slot), "slot \(slot)'s twin \(twin) is not mutual")
                        #expect(ids[slot] == Int32(queries[Int(twin) / perRow]) && ids[Int(twin)] == Int32(queries[slot / perRow]))
                    }
                    for blockRows in [1, 7, 64, 1000] {
                        var exact = [Double](repeating: .nan, count: rows * perRow)
                        BlockedRescoring(ranking: ranking, blockRows: blockRows)
                            .score(rows: rows, perRow: perRow, query: { queries[$0] }, ids: ids, wanted: wanted, exact: &exact)
                        for p in 0..<rows {
                            for i in 0..<perRow {
                                let slot = p * perRow + i
                                guard wanted[p].contains(i) else {
                                    #expect(exact[slot].isNaN, "slot \(slot) was not wanted")
                                    continue
                                }
                                let reference = Self.cosine(twoDictionaries ? other : keys, queries[p], keys, Int(ids[slot]),
                                                            twoDictionaries ? otherNorms : norms, norms)
                                #expect(exact[slot].bitPattern == reference.bitPattern,
                                        "\(layout), block \(blockRows), in place \(inPlace): slot \(slot)")
                            }
                        }
                    }
                }
            }
        }
    }

    @Test("two rounds with a wide bound rank the exact top k, ties included, over batches and blocks")
    func roundsGiveTheExactTopK() {
        let features = 157, d = 29, k = 6, perRow = 40
        // Ties at the k-th place: some features repeat others exactly.
        var values = Self.rows(features: features, d: d, seed: 11)
        for f in stride(from: 3, to: features, by: 5) { for i in 0..<d { values[f * d + i] = values[(f - 3) * d + i] } }
        let matrix = Self.matrix(features: features, d: d, seed: 0, rows: values)
        let norms = FeatureNorms(of: matrix, features: Array(0..<features))
        let ranking = ExactRanking(dictionary: matrix, norms: norms, liveKeys: (0..<Int32(features)).map { $0 }, k: k)
        var rng = SeededGenerator(seed: 12)
        let bound = 0.02
        // Each row's list: its perRow best keys by an approximate score within the bound of the exact one.
        var ids: [Int32] = [], scores: [Float] = []
        var expected: [[Int64]] = []
        for q in 0..<features {
            let exact = (0..<features).filter { $0 != q }.map { (id: Int32($0), score: Self.cosine(matrix, q, matrix, $0, norms, norms)) }
            expected.append(exact.sorted(by: ExactRanking.ranksBefore).prefix(k).map { Int64($0.id) })
            let noisy = exact.map { (id: $0.id, score: Float($0.score + (Double(rng.next() % 2001) / 1000 - 1) * bound * 0.99)) }
            let kept = noisy.sorted { $0.score != $1.score ? $0.score > $1.score : $0.id < $1.id }.prefix(perRow)
            ids += kept.map(\.id)
            scores += kept.map(\.score)
        }
        for (batchRows, blockRows) in [(nil, nil), (13, 5), (1, 1000)] as [(Int?, Int?)] {
            let output = SearchOutput(queries: features, k: k)
            output.rank(CandidateLists(rows: features, perRow: perRow, ids: ids, scores: scores, errorBound: bound),
                        rows: Array(0..<features), queries: Array(0..<features), ranking: ranking,
                        batchRows: batchRows, blockRows: blockRows)
            for q in 0..<features {
                #expect(Array(output.indices[(q * k)..<((q + 1) * k)]) == expected[q], "batch \(String(describing: batchRows)), row \(q)")
            }
            // The bound is wide: more than k candidates were scored on average, yet not all of them.
            let scored = Double(output.counts.rescoredCandidates) / Double(features)
            #expect(scored > Double(k) && scored < Double(perRow), "\(scored) scored a row")
        }
    }
}
