import Foundation

/// What `saegeo report` shows, gathered from the inputs and free of HTML: the readers fill it, the
/// renderer (HTMLReport) only formats it. Every part is optional but the provenance, since the
/// report takes any subset of its inputs.
public struct Report: Sendable {
    public var scores: ScoreOverview?
    public var riskiest: [RiskySample] = []
    public var null: NullComparison?
    public var neighbours: NeighbourTable?
    public var contrast: ContrastTable?
    public var provenance: Provenance

    public init(provenance: Provenance) { self.provenance = provenance }
}

/// The scores as a whole and the geometry filter's cut at the chosen drop fraction.
public struct ScoreOverview: Sendable {
    public let path: String
    public let samples: Int
    public let meanScore: Double
    public let dropFraction: Double
    /// ceil(q N), and N minus it: exactly `filter`'s counts.
    public let dropped: Int
    public var kept: Int { samples - dropped }
    /// The lowest dropped score (nil when nothing is dropped), how many samples score exactly that,
    /// and how many of those (the lowest-numbered) are dropped.
    public let cutScore: Float?
    public let tiesAtCut: Int
    public let tiesDropped: Int
    public let histogram: ScoreHistogram
}

/// One feature that explains a sample's score (score --explain): its summed activation over the
/// sample, its toxic proximity and the toxic feature it is nearest to.
public struct Explanation: Sendable, Equatable {
    public let feature: Int
    public let activation: Double
    public let proximity: Double
    public let nearestToxic: Int
}

/// A sample among the riskiest: its rank is its place in `Report.riskiest`.
public struct RiskySample: Sendable {
    public let sample: Int
    public let score: Float
    public let active: Int?
    public let explanations: [Explanation]
    /// Its text from the dataset (shortened to `SampleTexts.shownCharacters`), and how many
    /// characters were left out.
    public var text: String?
    public var omittedCharacters = 0
}

/// The dataset's activation-weighted mean toxic proximity against its null (score --summary,
/// docs/statistics.md): the verdict and its evidence, or none for a summary written before the
/// calibrated test (no "leans_toxic").
public struct NullComparison: Sendable {
    public let path: String
    public let samples: Int?
    public let meanScore: Double?
    public let meanProximity: Double
    public let nullMean: Double
    public let nullStd: Double
    public let nullSets: Int?
    public let zScore: Double?
    public var interval: (low: Double, high: Double)?
    public var intervalLevel: Double?
    public var pValue: Double?
    public var mcError: Double?
    public var alpha: Double?
    public var leansToxic: Bool?
    /// With `score --reference`: the reference's samples and figure, the difference and its interval.
    public var reference: (samples: Int?, meanProximity: Double, difference: Double, interval: (low: Double, high: Double)?)?
}

/// The toxic features' nearest neighbours (neighbors' output), one row per toxic feature shown.
public struct NeighbourTable: Sendable {
    public struct Row: Sendable {
        public let feature: Int
        public let neighbours: [(feature: Int, cosine: Float)]
    }

    public let path: String
    public let rows: [Row]
    /// Queries of the file that were not shown (not toxic, or past the row limit), and toxic ids
    /// that the file has no row for.
    public let queriesLeftOut: Int
    public let toxicWithoutRow: [Int]
    public let neighboursLeftOut: Int
}

/// A per-feature contrast ranking (feature, t, and whatever other columns the file has): the
/// features of highest t.
public struct ContrastTable: Sendable {
    public struct Row: Sendable {
        public let feature: Int
        public let t: Double?
        public let values: [String]
    }

    public let path: String
    public let columns: [String]
    public let rows: [Row]
    public let features: Int
}

/// How the report was made: the inputs (with sizes), the options and saegeo's version.
public struct Provenance: Sendable {
    public struct Input: Sendable {
        public let role: String
        public let path: String
        public let bytes: Int?
    }

    public var inputs: [Input]
    public var options: [(name: String, value: String)]
    public var version: String
    public var created: Date

    public init(inputs: [Input], options: [(name: String, value: String)], version: String, created: Date = Date()) {
        self.inputs = inputs
        self.options = options
        self.version = version
        self.created = created
    }
}
