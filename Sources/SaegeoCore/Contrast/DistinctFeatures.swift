import Foundation

/// `contrast --distinct-cosine C`: the top of a ranking with near-duplicates collapsed.
///
/// Why: an SAE often holds several features along nearly one direction (split or absorbed
/// features), and they fire together, so a contrast's top N can be one cluster: the toxic features
/// and a dozen copies of them (issue 22: the top 20 held 4 toxic features and 16 near-duplicates).
/// As a toxic set such a list names one direction N times; `--explain` then mostly says a
/// feature's nearest toxic feature is itself.
///
/// The rule: walk the ranking from the top over live features; a feature whose decoder cosine to
/// a feature already kept is above C is a duplicate of the best-ranked such kept feature (so each
/// group keeps its best-ranked member); otherwise it is kept. The walk stops once `count` features
/// are kept, so features ranked below the last kept one are not examined. Cosines are computed in
/// float64 in one fixed order (Exact), so the choice does not depend on the device.
public struct DistinctFeatures: Sendable {
    /// The kept features, in rank order.
    public let kept: [Int]
    /// For each collapsed feature, the kept feature it duplicates.
    public let duplicateOf: [Int: Int]

    public static func select(ranking: [FeatureContrast], decoder: FeatureMatrix, norms: FeatureNorms,
                              count: Int, cosine threshold: Double) -> DistinctFeatures {
        let d = decoder.dimension
        var kept: [Int] = [], keptUnits: [[Double]] = [], duplicates: [Int: Int] = [:]
        var row = [Float](repeating: 0, count: d)
        for entry in ranking where !entry.dead && norms.isLive(entry.feature) {
            if kept.count == count { break }
            let f = entry.feature
            row.withUnsafeMutableBufferPointer { decoder.copyFeature(f, into: $0.baseAddress!) }
            let norm = norms.norms[f]
            let match = keptUnits.firstIndex { unit in
                unit.withUnsafeBufferPointer { u in
                    row.withUnsafeBufferPointer { r in Exact.dot(u.baseAddress!, r.baseAddress!, count: d) / norm }
                } > threshold
            }
            if let match {
                duplicates[f] = kept[match]
            } else {
                kept.append(f)
                keptUnits.append(row.map { Double($0) / norm })
            }
        }
        return DistinctFeatures(kept: kept, duplicateOf: duplicates)
    }
}
