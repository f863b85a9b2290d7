/// How an SAE turns pre-activations into activations (DESIGN.md).
public enum EncoderActivation: Sendable, Equatable {
    case relu
    case jumpReLU
    case topK(Int)

    /// The K of TopK, 0 otherwise.
    public var k: Int { if case .topK(let k) = self { return k } else { return 0 } }
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

    public init(weights: FeatureMatrix, features: Range<Int>, bias: [Float], thresholds: [Float]?,
                activation: EncoderActivation, proximity: [Float]) {
        self.weights = weights
        self.features = features
        self.bias = bias
        self.thresholds = thresholds
        self.activation = activation
        self.proximity = proximity
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
