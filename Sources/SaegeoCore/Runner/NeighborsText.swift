import Foundation

/// The lines `neighbors` and `merge` say about neighbour results, in words.
public enum NeighborsText {
    /// What the count of exhaustive rows means, in words: the candidates (float32, or a certified
    /// first pass's) could not certify
    /// those rows' top k (exact ties, near-duplicates; ExactRanking), so each was ranked again over
    /// every key in float64. The answer is exact either way; the count only explains the time.
    public static func exhaustiveNote(_ rows: Int) -> String {
        rows == 0 ? "every row certified from its candidates (none needed an exact pass over all keys)"
            : "\(rows) row\(rows == 1 ? "" : "s") re-ranked exactly over every key (near-ties that the candidates could not certify; exact either way)"
    }

    /// The --mutual summary: counts first, then the share of the live queries, as percentages.
    public static func mutualSummary(_ pairs: MutualPairs, minCosine: Float, path: String) -> String {
        let above = pairs.cosine.filter { $0 >= minCosine }.count
        return String(format: "mutual nearest pairs: %d, so %d of the %d live queries (%.2f%%) have a mutual partner; %d (%.2f%%) with cosine >= %@; wrote %@",
                      pairs.a.count, pairs.a.count, pairs.liveQueries, 100 * pairs.fraction(), above,
                      100 * pairs.fraction(atLeast: minCosine), "\(minCosine)", path)
    }
}
