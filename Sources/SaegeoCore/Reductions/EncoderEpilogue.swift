/// What an encoder tile's activations are reduced to, as a value every engine implements
/// (ComputeEngine's encoder tiles): each field is one statistic, and an engine computes only
/// those asked for, so a workload that needs no scores does not pay for them and nothing is
/// downloaded that no one reads. docs/internals.md lists the files a new statistic touches.
public struct EncoderEpilogue: Sendable, Equatable {
    /// Per sample, sum a p, sum a and the number of distinct active features, and per feature
    /// the chunk's total activation (`score`'s sums).
    public var scores: Bool
    /// Per sample, this many features with the largest sum of a p (0: none; `explain`).
    public var explain: Int
    /// Per sample, every active feature with its summed activation and token count (paired
    /// `contrast`, which needs both sets' features of a sample at once).
    public var sampleFeatures: Bool
    /// Per feature over the chunk's samples, FeatureMoments (`contrast` of unpaired sets).
    public var featureMoments: Bool
    /// TopK and GroupMax: each token's selection across every tile of the dictionary. A tile's
    /// pre-activations (without bias) go to the accumulators' running selection
    /// (`select(preActivations:features:bias:)`) and nothing else is reduced; the per-sample sums
    /// come from the selection after the last tile, on the host (DatasetScorer).
    public var selection: Bool

    public init(scores: Bool = true, explain: Int = 0, sampleFeatures: Bool = false, featureMoments: Bool = false,
                selection: Bool = false) {
        self.scores = scores
        self.explain = explain
        self.sampleFeatures = sampleFeatures
        self.featureMoments = featureMoments
        self.selection = selection
    }

    /// Whether the per-(sample, feature) sums are read at all (explanations, sample features,
    /// or moments reduced on the host from them).
    var needsFeatureSums: Bool { explain > 0 || sampleFeatures || featureMoments }
}
