import Foundation

/// The line a job prints about its engines' certified first pass: how much the bound left to the
/// exact path (docs/internals.md, "How tight the bound is"). Nothing for float32 engines.
enum FirstPassText {
    static func line(_ engines: [ComputeEngine]) -> String? {
        var parts: [String] = []
        for engine in engines {
            guard let counts = engine.firstPassCounts else { continue }
            var figures: [String] = []
            if counts.queryRows > 0 {
                figures.append(String(format: "%.1f candidates re-scored per query (%d queries, %d ranked over every key)",
                                      Double(counts.rescoredCandidates) / Double(counts.queryRows), counts.queryRows, counts.exhaustiveRows))
            }
            if counts.encoderRows > 0 {
                let pairs = Double(counts.encoderRows)
                figures.append(String(format: "%.1f features recomputed exactly and %.1f decided by the bound per activation row (%d rows)",
                                      Double(counts.recomputedFeatures) / pairs, Double(counts.decidedFeatures) / pairs, counts.encoderRows))
            }
            guard !figures.isEmpty else { continue }
            parts.append("\(engine.device.id): " + figures.joined(separator: "; "))
        }
        return parts.isEmpty ? nil : "bfloat16 first pass on " + parts.joined(separator: "; ")
    }
}
