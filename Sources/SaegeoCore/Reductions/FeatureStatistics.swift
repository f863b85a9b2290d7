/// Per-feature sums over the samples of one activation set (DESIGN.md, Definitions: contrast):
/// for each feature f, on how many samples and tokens it fired, and the sum and sum of squares of
/// its per-sample mean activation m_f(s) = (1/T_s) sum_t a_{t,f}. Paired sets reduce the
/// per-sample differences d_f(s) the same way (`add(difference:)`).
///
/// The sums are compensated (each a high and a low double, Knuth's two-sum), so they come out
/// the same, bit for bit in all but vanishingly rare cases, whatever order the chunks, devices
/// and shards add them in: a sharded run merges to a single run's figures.
public struct FeatureStatistics: Sendable, Equatable {
    public let features: Int
    /// Samples reduced (n).
    public private(set) var samples = 0
    public private(set) var fires: [Int64]
    public private(set) var tokens: [Int64]
    var sum: CompensatedSums
    var squares: CompensatedSums

    public init(features: Int) {
        self.features = features
        fires = [Int64](repeating: 0, count: features)
        tokens = fires
        sum = CompensatedSums(count: features)
        squares = sum
    }

    /// One chunk of `samples` samples from its tiles' moments (disjoint pieces; a feature in none
    /// never fired): each feature's figures are the piece's, copied, so the chunk is the same
    /// part as adding its samples one by one would make (FeatureMoments).
    init(samples: Int, features: Int, pieces: [FeatureMoments]) {
        self.init(features: features)
        self.samples = samples
        for piece in pieces {
            for (j, f) in piece.features.enumerated() {
                fires[f] = piece.fires[j]
                tokens[f] = piece.tokens[j]
                sum.set(f, high: piece.sum.high[j], low: piece.sum.low[j])
                squares.set(f, high: piece.squares.high[j], low: piece.squares.low[j])
            }
        }
    }

    /// One sample of `length` tokens with its active features (each once, any order).
    mutating func add(sample active: [SampleFeature], length: Int) {
        samples += 1
        guard length > 0 else { return }
        for entry in active {
            let f = Int(entry.feature), mean = entry.sum / Double(length)
            fires[f] += 1
            tokens[f] += Int64(entry.tokens)
            sum.add(f, mean)
            squares.add(f, mean * mean)
        }
    }

    /// One sample's differences of per-sample means between two sets, d_f(s) = m^A_f - m^B_f,
    /// for the features active in either (the others' d is 0).
    mutating func add(difference a: [SampleFeature], _ b: [SampleFeature], length: Int) {
        samples += 1
        guard length > 0 else { return }
        var d: [Int32: Double] = [:]
        for entry in a { d[entry.feature, default: 0] += entry.sum / Double(length) }
        for entry in b { d[entry.feature, default: 0] -= entry.sum / Double(length) }
        for (f, value) in d {
            sum.add(Int(f), value)
            squares.add(Int(f), value * value)
        }
    }

    /// Adds another part of the same set (other samples).
    public mutating func merge(_ other: FeatureStatistics) {
        precondition(other.features == features, "statistics of one dictionary")
        samples += other.samples
        for f in 0..<features {
            fires[f] += other.fires[f]
            tokens[f] += other.tokens[f]
        }
        sum.merge(other.sum)
        squares.merge(other.squares)
    }

    /// The mean of m_f over the samples (0 for no samples).
    public func mean(_ f: Int) -> Double { samples > 0 ? sum.value(f) / Double(samples) : 0 }

    /// The sample variance (n - 1) of m_f; 0 with fewer than two samples.
    public func variance(_ f: Int) -> Double {
        guard samples > 1 else { return 0 }
        let n = Double(samples), total = sum.value(f)
        return max(0, (squares.value(f) - total * total / n) / (n - 1))
    }

    /// The raw sums, for a shard's file: (sum high, sum low, squares high, squares low).
    public var parts: (sumHigh: [Double], sumLow: [Double], squaresHigh: [Double], squaresLow: [Double]) {
        (sum.high, sum.low, squares.high, squares.low)
    }

    /// Statistics back from a shard's file.
    public init(samples: Int, fires: [Int64], tokens: [Int64], sumHigh: [Double], sumLow: [Double],
                squaresHigh: [Double], squaresLow: [Double]) {
        features = fires.count
        self.samples = samples
        self.fires = fires
        self.tokens = tokens
        sum = CompensatedSums(high: sumHigh, low: sumLow)
        squares = CompensatedSums(high: squaresHigh, low: squaresLow)
    }
}

/// A float64 sum per feature kept as high + low parts (two-sum), so the order of additions does
/// not show in the result.
struct CompensatedSums: Sendable, Equatable {
    private(set) var high: [Double]
    private(set) var low: [Double]

    init(count: Int) {
        high = [Double](repeating: 0, count: count)
        low = high
    }

    init(high: [Double], low: [Double]) {
        self.high = high
        self.low = low
    }

    mutating func add(_ i: Int, _ x: Double) {
        let s = high[i] + x
        let back = s - high[i]
        low[i] += (high[i] - (s - back)) + (x - back)
        high[i] = s
    }

    mutating func set(_ i: Int, high: Double, low: Double) {
        self.high[i] = high
        self.low[i] = low
    }

    mutating func merge(_ other: CompensatedSums) {
        for i in high.indices {
            add(i, other.high[i])
            low[i] += other.low[i]
        }
    }

    func value(_ i: Int) -> Double { high[i] + low[i] }
}
