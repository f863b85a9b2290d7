/// What `contrast` needs of one encoder tile over one chunk of samples, per feature of the tile
/// (DESIGN.md, Definitions: contrast): on how many samples and tokens it fired, and the
/// compensated sum and sum of squares of its per-sample mean m_f(s) = (1/T_s) sum_t a_{t,f},
/// the samples added in order. Only these [tile] arrays leave a device, never the
/// [samples, tile] sums.
///
/// Why every engine adds in the same way: a chunk's moments, placed into a FeatureStatistics
/// (`FeatureStatistics(samples:features:pieces:)`), are bit for bit the part that adding the
/// chunk's samples one by one would make, because each feature's two-sum sees the same means in
/// the same order whoever computes them (float64 on the host, or a device with cl_khr_fp64).
public struct FeatureMoments: Sendable, Equatable {
    /// The features these moments are of (the tile's, or a piece of it).
    public let features: Range<Int>
    var fires: [Int64]
    var tokens: [Int64]
    var sum: CompensatedSums
    var squares: CompensatedSums

    init(features: Range<Int>) {
        self.features = features
        fires = [Int64](repeating: 0, count: features.count)
        tokens = fires
        sum = CompensatedSums(count: features.count)
        squares = sum
    }

    /// Moments a device reduced: per feature of `features`, fires, tokens and the high and low
    /// parts of both compensated sums. Public, so that a backend outside SaegeoCore can hand
    /// its own over.
    public init(features: Range<Int>, fires: [Int64], tokens: [Int64], sumHigh: [Double], sumLow: [Double],
                squaresHigh: [Double], squaresLow: [Double]) {
        precondition([fires.count, tokens.count, sumHigh.count, sumLow.count, squaresHigh.count, squaresLow.count]
            .allSatisfy { $0 == features.count }, "one entry per feature")
        self.features = features
        self.fires = fires
        self.tokens = tokens
        sum = CompensatedSums(high: sumHigh, low: sumLow)
        squares = CompensatedSums(high: squaresHigh, low: squaresLow)
    }

    /// The `j`th feature of these moments fired on `tokens` of a sample's `length` tokens with
    /// activations summing to `sum` (> 0): FeatureStatistics.add(sample:length:) for one feature.
    @inline(__always)
    mutating func add(_ j: Int, sum total: Double, tokens count: Int32, length: Int) {
        let mean = total / Double(length)
        fires[j] += 1
        tokens[j] += Int64(count)
        sum.add(j, mean)
        squares.add(j, mean * mean)
    }

    /// The first feature whose sums are not finite, with its sum.
    func firstNonFinite() -> (feature: Int, value: Double)? {
        for j in 0..<features.count where !sum.value(j).isFinite || !squares.value(j).isFinite {
            return (features.lowerBound + j, sum.value(j))
        }
        return nil
    }
}
