import Foundation

/// Mutual nearest pairs across two dictionaries (DESIGN.md): a of A and b of B such that b is A's
/// top-1 of a (among the search's keys) and a is B's top-1 of b (among all of A's live features).
/// Both top-1s come from the exact search, ties to the lower id, so the pairs are exact too.
public struct MutualPairs: Sendable {
    /// Sorted by `a`; each a and each b at most once.
    public let a: [Int64]
    public let b: [Int64]
    /// cos(a, b), the float32 the forward search reported.
    public let cosine: [Float]
    /// Distinct live features among the queries: the denominator of the fractions.
    public let liveQueries: Int
    /// The reverse search (B's top-1 in A) for the summary line.
    public let reverse: NeighborResult?

    /// The share of the live queries in a pair whose cosine is at least `minimum` (-inf: in any pair).
    public func fraction(atLeast minimum: Float = -.infinity) -> Double {
        liveQueries == 0 ? 0 : Double(cosine.filter { $0 >= minimum }.count) / Double(liveQueries)
    }

    /// Runs `forward` (A's queries among B's keys, any k) and the reverse search its top-1s need:
    /// each distinct b that is some query's top-1, with k = 1, among every feature of A. The norms
    /// of all of A are computed once and serve both searches.
    public static func search(_ forward: NeighborSearch, on engines: [ComputeEngine], cancellation: Cancellation = Cancellation(),
                              progress: (@Sendable (ProgressReport) -> Void)? = nil,
                              reverseProgress: (@Sendable (ProgressReport) -> Void)? = nil) throws -> (NeighborResult, MutualPairs) {
        guard let keyDictionary = forward.keyDictionary else {
            throw SaegeoError(.usage, "mutual pairs need two dictionaries (--keys-sae)")
        }
        let dictionary = forward.dictionary
        var forward = forward
        let allOfA = Array(0..<dictionary.features)
        let normsA = forward.norms ?? FeatureNorms(of: dictionary, features: allOfA)
        let normsB = forward.keyNorms ?? FeatureNorms(of: keyDictionary, features: forward.keys)
        forward.norms = normsA
        forward.keyNorms = normsB
        let result = try forward.run(on: engines, cancellation: cancellation, progress: progress)

        // A's top-1 of each live query (the first of its sorted row; dead rows hold -1).
        var top1OfA: [Int: Int] = [:]
        for (row, a) in forward.queries.enumerated() where normsA.isLive(a) {
            let b = result.indices[row * forward.k]
            if b >= 0 { top1OfA[a] = Int(b) }
        }
        let liveQueries = Set(forward.queries.filter(normsA.isLive)).count
        let candidates = Array(Set(top1OfA.values)).sorted()
        guard !candidates.isEmpty else {
            return (result, MutualPairs(a: [], b: [], cosine: [], liveQueries: liveQueries, reverse: nil))
        }
        try cancellation.check()
        var reverse = try NeighborSearch(dictionary: keyDictionary, queries: candidates, keyDictionary: dictionary,
                                         keys: allOfA, k: 1, memoryBudget: forward.memoryBudget)
        reverse.norms = normsB
        reverse.keyNorms = normsA
        let back = try reverse.run(on: engines, cancellation: cancellation, progress: reverseProgress)
        var top1OfB: [Int: Int] = [:]
        for (row, b) in candidates.enumerated() where back.indices[row] >= 0 { top1OfB[b] = Int(back.indices[row]) }

        // Each a once: the first row of a query listed twice holds the same bits as the second.
        var firstRow: [Int: Int] = [:]
        for (row, a) in forward.queries.enumerated() where firstRow[a] == nil { firstRow[a] = row }
        var a: [Int64] = [], b: [Int64] = [], cosine: [Float] = []
        for (query, nearest) in top1OfA.sorted(by: { $0.key < $1.key }) where top1OfB[nearest] == query {
            a.append(Int64(query))
            b.append(Int64(nearest))
            cosine.append(result.scores[firstRow[query]! * forward.k])
        }
        return (result, MutualPairs(a: a, b: b, cosine: cosine, liveQueries: liveQueries, reverse: back))
    }
}
