import Foundation

/// The dataset summary in one log line, as `score --summary` and `merge --summary` print it.
public enum SummaryLine {
    public static func text(_ figures: DatasetSummary) -> String {
        String(format: "dataset: mean score %.6f; activation-weighted mean toxic proximity %.6f (%.0f%% interval %@) against %.6f +- %.6f %@: z = %@; %@",
               figures.meanScore, figures.meanProximity, DatasetSummary.intervalLevel * 100,
               figures.interval.map { String(format: "%.6f to %.6f", $0[0], $0[1]) } ?? "n/a",
               figures.nullMean, figures.nullStd,
               figures.reference.map { String(format: "for its samples drawn at random from it and the reference (the reference's own: %.6f, difference %.6f)", $0.meanProximity, $0.difference) }
                   ?? "with its mass placed at random",
               figures.zScore.map { String(format: "%.2f", $0) } ?? "n/a",
               figures.pValue.map { String(format: "p = %.4f +- %.4f over %d draws: %@", $0, figures.mcError ?? 0, figures.nullSets,
                                           figures.leansToxic ? "leans towards the toxic features" : "no evidence that it leans towards them") }
                   ?? "no null draws (--null-sets 0): no verdict")
    }
}
