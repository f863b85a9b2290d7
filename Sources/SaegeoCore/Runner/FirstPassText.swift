import Foundation

/// The lines a job prints about the certified first pass: how much its bound left to the exact
/// path (docs/internals.md, "The certified bfloat16 first pass"). Nothing when no first pass ran.
enum FirstPassText {
    /// Neighbours: the candidates the exact ranking re-scored per query (NeighborResult.firstPass).
    static func neighbors(_ counts: FirstPassCounts, devices: String) -> String? {
        guard counts.queryRows > 0 else { return nil }
        return String(format: "bfloat16 first pass on %@: %.1f candidates re-scored in float64 per query (%d queries, %d ranked over every key)",
                      devices, Double(counts.rescoredCandidates) / Double(counts.queryRows), counts.queryRows, counts.exhaustiveRows)
    }

    /// The encoder (score, contrast): per activation row, the features recomputed exactly and
    /// those the bound decided, from each engine's counts.
    static func encoder(_ engines: [ComputeEngine]) -> String? {
        let parts: [String] = engines.compactMap { engine in
            guard let counts = engine.firstPassCounts, counts.encoderRows > 0 else { return nil }
            let rows = Double(counts.encoderRows)
            return String(format: "%@: %.1f features recomputed exactly and %.1f decided by the bound per activation row (%d rows)",
                          engine.device.id, Double(counts.recomputedFeatures) / rows, Double(counts.decidedFeatures) / rows,
                          counts.encoderRows)
        }
        return parts.isEmpty ? nil : "bfloat16 first pass on " + parts.joined(separator: "; ")
    }
}
