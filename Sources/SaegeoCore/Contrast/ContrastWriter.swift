import Foundation

/// `contrast`'s per-feature output, ranked (FeatureContrast.ranked), by extension:
/// - .jsonl: one object per feature, `{"rank", "feature", "t", "log_odds", "rate_a", "rate_b",
///   "mean_a", "mean_b", "fires_a", "fires_b", "tokens_a", "tokens_b", "dead"}`; an infinite t is
///   written as the string "inf" or "-inf" (JSON has no infinity);
/// - .csv: the same columns, with a header; `dead` is `true`/`false` there as in the .jsonl, so
///   that pandas reads a bool column from either (0/1 would read as int from one, bool from the other);
/// - .safetensors: one tensor per column in rank order (`feature`, `fires_*`, `tokens_*`, `dead`
///   I64; the rest F64).
/// With `duplicateOf` (contrast --distinct-cosine), a last column `duplicate_of`: the kept feature
/// a collapsed one duplicates, -1 for every other (kept, or ranked past the walk), written -1 in
/// every format so that the column stays an integer column in pandas.
public enum ContrastWriter {
    public static let columns = ["rank", "feature", "t", "log_odds", "rate_a", "rate_b", "mean_a", "mean_b",
                                 "fires_a", "fires_b", "tokens_a", "tokens_b", "dead"]

    public static func write(_ ranking: [FeatureContrast], format: String, metadata: [String: String] = [:],
                             duplicateOf: [Int: Int]? = nil, into sink: OutputSink) throws {
        let names = columns + (duplicateOf == nil ? [] : ["duplicate_of"])
        let duplicate = { (feature: Int) in String(duplicateOf?[feature] ?? -1) }
        try requireFinite(ranking)
        if format.hasSuffix(".safetensors") {
            var tensors = tensors(ranking)
            if let duplicateOf {
                tensors.append(.int64("duplicate_of", shape: [ranking.count], ranking.map { Int64(duplicateOf[$0.feature] ?? -1) }))
            }
            try SafetensorsWriter.write(tensors, metadata: metadata, into: sink)
            return
        }
        let csv = format.hasSuffix(".csv")
        var text = csv ? names.joined(separator: ",") + "\n" : ""
        for (rank, row) in ranking.enumerated() {
            let values = fields(rank: rank, row, csv: csv) + (duplicateOf == nil ? [] : [duplicate(row.feature)])
            if csv {
                text += values.joined(separator: ",") + "\n"
            } else {
                text += "{" + zip(names, values).map { "\"\($0)\": \($1)" }.joined(separator: ", ") + "}\n"
            }
            if text.utf8.count > 1 << 20 {
                try sink.write(text)
                text = ""
            }
        }
        try sink.write(text)
    }

    /// The .jsonl rows as JSON objects, one per feature in rank order (no newline), as `write` writes them.
    public static func jsonObjects(_ ranking: [FeatureContrast]) throws -> [String] {
        try requireFinite(ranking)
        return ranking.enumerated().map { rank, row in
            "{" + zip(columns, fields(rank: rank, row, csv: false)).map { "\"\($0)\": \($1)" }.joined(separator: ", ") + "}"
        }
    }

    /// Finite out: t alone may be infinite (the Definitions' x/0), written as above; anything
    /// else not finite would be a token no JSON or CSV reader takes, and is refused.
    static func requireFinite(_ ranking: [FeatureContrast]) throws {
        for row in ranking {
            let values = [("t", row.t), ("log_odds", row.logOdds), ("rate_a", row.rateA), ("rate_b", row.rateB),
                          ("mean_a", row.meanA), ("mean_b", row.meanB)]
            if let (name, value) = values.first(where: { $0.1.isNaN || ($0.0 != "t" && !$0.1.isFinite) }) {
                throw SaegeoError.badInput("feature \(row.feature)'s \(name) is \(value); contrast writes only finite figures (t may be +-inf); check the activations' scale")
            }
        }
    }

    /// One row's values in `columns` order, as text (t and log_odds quoted when infinite in JSON).
    static func fields(rank: Int, _ row: FeatureContrast, csv: Bool) -> [String] {
        [String(rank), String(row.feature), number(row.t, quoted: !csv), number(row.logOdds, quoted: !csv),
         number(row.rateA), number(row.rateB), number(row.meanA), number(row.meanB),
         String(row.firesA), String(row.firesB), String(row.tokensA), String(row.tokensB), String(row.dead)]
    }

    static func tensors(_ ranking: [FeatureContrast]) -> [OutputTensor] {
        let n = [ranking.count]
        return [
            .int64("feature", shape: n, ranking.map { Int64($0.feature) }),
            .float64("t", shape: n, ranking.map(\.t)),
            .float64("log_odds", shape: n, ranking.map(\.logOdds)),
            .float64("rate_a", shape: n, ranking.map(\.rateA)),
            .float64("rate_b", shape: n, ranking.map(\.rateB)),
            .float64("mean_a", shape: n, ranking.map(\.meanA)),
            .float64("mean_b", shape: n, ranking.map(\.meanB)),
            .int64("fires_a", shape: n, ranking.map(\.firesA)),
            .int64("fires_b", shape: n, ranking.map(\.firesB)),
            .int64("tokens_a", shape: n, ranking.map(\.tokensA)),
            .int64("tokens_b", shape: n, ranking.map(\.tokensB)),
            .int64("dead", shape: n, ranking.map { $0.dead ? 1 : 0 }),
        ]
    }

    /// A double as the shortest text that reads back to it; infinities as inf / -inf.
    static func number(_ x: Double, quoted: Bool = false) -> String {
        if x.isFinite { return "\(x)" }
        let text = x > 0 ? "inf" : "-inf"
        return quoted ? "\"\(text)\"" : text
    }
}
