/// How an SAE turns pre-activations into activations (DESIGN.md).
public enum EncoderActivation: Sendable, Equatable {
    case relu
    case jumpReLU
    case topK(Int)
    /// Gated (SAELens, dictionary_learning): the gate `pre + b_gate > 0` decides whether a feature
    /// fires, the magnitude path `relu(pre * exp(r_mag) + b_mag)` how much; `pre` without bias.
    case gated
    /// GroupMax (sparsify): the features fall in K contiguous groups of equal size, and each
    /// token keeps the largest relu(pre) of each group.
    case groupMax(Int)

    /// The activations a token keeps after selection on the host (TopK's K, GroupMax's groups),
    /// 0 when no selection spans the tiles.
    public var k: Int {
        switch self {
        case .topK(let k), .groupMax(let k): k
        default: 0
        }
    }
}

/// A chunk of token rows for the encoder: float32 [rows, dimension], b_dec already subtracted and
/// scaled, holding whole samples: sample s is rows `rowStarts[s]..<rowStarts[s + 1]`.
public struct ActivationChunk: Sendable {
    public let values: [Float]
    public let rows: Int
    public let dimension: Int
    public let rowStarts: [Int]

    public var samples: Int { rowStarts.count - 1 }

    public init(values: [Float], rows: Int, dimension: Int, rowStarts: [Int]) {
        self.values = values
        self.rows = rows
        self.dimension = dimension
        self.rowStarts = rowStarts
    }
}

/// A gated encoder's magnitude path per feature: `a = relu(pre * scale + bias)` where the gate is
/// open (`scale` is exp(r_mag), computed once in float32).
public struct MagnitudePath: Sendable {
    public let scale: [Float]
    public let bias: [Float]
    public init(scale: [Float], bias: [Float]) {
        self.scale = scale
        self.bias = bias
    }
}

/// Features `features` of an encoder with what activating and reducing them needs. The arrays are
/// the whole encoder's (indexed by feature id), shared, not copied.
public struct EncoderTile: Sendable {
    /// W_enc with one row per feature, in whatever layout the file has.
    public let weights: FeatureMatrix
    public let features: Range<Int>
    public let bias: [Float]
    public let thresholds: [Float]?
    public let activation: EncoderActivation
    /// Toxic proximity per feature.
    public let proximity: [Float]
    /// A gated encoder's magnitude path (`bias` is then the gate's bias).
    public let magnitude: MagnitudePath?

    public init(weights: FeatureMatrix, features: Range<Int>, bias: [Float], thresholds: [Float]?,
                activation: EncoderActivation, proximity: [Float], magnitude: MagnitudePath? = nil) {
        precondition((activation == .gated) == (magnitude != nil), "a gated tile, and only one, has a magnitude path")
        self.weights = weights
        self.features = features
        self.bias = bias
        self.thresholds = thresholds
        self.activation = activation
        self.proximity = proximity
        self.magnitude = magnitude
    }

    /// The same tile over fewer features (a piece of it).
    func restricted(to range: Range<Int>) -> EncoderTile {
        EncoderTile(weights: weights, features: range, bias: bias, thresholds: thresholds, activation: activation,
                    proximity: proximity, magnitude: magnitude)
    }

    /// The tile's rows of W_enc in float32, row-major [capacity, stride]: the rows padded with
    /// zeros to `stride` floats and zero rows up to `capacity` (the form a device takes).
    func featureRows(stride: Int, capacity: Int) -> [Float] {
        var rows = [Float](repeating: 0, count: max(1, capacity * stride))
        rows.withUnsafeMutableBufferPointer { copyRows(into: $0.baseAddress!, stride: stride) }
        return rows
    }

    /// Copies the tile's rows of W_enc to `destination`, row j at j * stride, on all cores.
    func copyRows(into destination: UnsafeMutablePointer<Float>, stride: Int) {
        let first = features.lowerBound, matrix = weights, base = UnsafeSendablePointer(destination)
        parallelChunks(features.count) { range in
            for j in range { matrix.copyFeature(first + j, into: base.pointer + j * stride) }
        }
    }
}
