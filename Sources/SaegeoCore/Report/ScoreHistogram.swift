/// The score distribution in equal-width bins between the lowest and the highest score, with the
/// dropped part of each bin, filled while the scores stream by (the range comes from a first pass).
public struct ScoreHistogram: Sendable, Equatable {
    public let lowest: Float
    public let highest: Float
    public private(set) var counts: [Int]
    /// Of `counts`, the samples the geometry filter drops.
    public private(set) var dropped: [Int]

    public var binCount: Int { counts.count }

    init(lowest: Float, highest: Float, bins: Int) {
        self.lowest = lowest
        self.highest = highest
        // All scores equal: one bin holds them all.
        let bins = highest > lowest ? max(1, bins) : 1
        counts = [Int](repeating: 0, count: bins)
        dropped = counts
    }

    /// The bin of a score; the highest score falls in the last bin. Doubles, so that the bin of a
    /// value is the same whichever code asks.
    public func bin(of score: Float) -> Int {
        guard highest > lowest else { return 0 }
        let position = (Double(score) - Double(lowest)) / (Double(highest) - Double(lowest)) * Double(counts.count)
        return min(counts.count - 1, max(0, Int(position)))
    }

    /// The lower edge of bin `index` (index == binCount gives the upper edge of the last).
    public func edge(_ index: Int) -> Double {
        Double(lowest) + (Double(highest) - Double(lowest)) * Double(index) / Double(counts.count)
    }

    mutating func add(_ score: Float, dropped isDropped: Bool) {
        let b = bin(of: score)
        counts[b] += 1
        if isDropped { dropped[b] += 1 }
    }

    mutating func addDropped(_ score: Float, count: Int) { dropped[bin(of: score)] += count }
}
