/// The geometry filter's cut found exactly without holding the scores: `filter` drops the
/// ceil(q N) highest scores, ties to the lower sample index (DESIGN.md), and a report must show the
/// same cut and the same counts for files of millions of samples.
///
/// Why two bounded passes are exact: a float32 maps to a 32-bit key that orders as the values do
/// (`key`). The first pass counts the keys by their upper 16 bits (65536 counters); walking them
/// from the top finds the one coarse bucket holding the k-th highest score. The second pass counts
/// the scores inside that bucket by their lower 16 bits (65536 more); walking those finds the k-th
/// highest value itself. Memory is fixed whatever N is, and ties at the cut are counted, not
/// guessed: the samples above the cut value are all dropped, and of those exactly at it the
/// lowest-numbered `tiesDropped` are.
struct ScoreCut {
    /// A key that sorts as the float does; -0 and +0 share one (they compare equal).
    static func key(_ value: Float) -> UInt32 {
        let bits = (value == 0 ? Float(0) : value).bitPattern
        return bits & 0x8000_0000 != 0 ? ~bits : bits | 0x8000_0000
    }

    static func value(ofKey key: UInt32) -> Float {
        Float(bitPattern: key & 0x8000_0000 != 0 ? key & 0x7FFF_FFFF : ~key)
    }

    /// How many samples are dropped: ceil(q N), exactly as `filter` counts it.
    let dropCount: Int
    private var fine = [Int](repeating: 0, count: 1 << 16)
    /// The coarse bucket of the cut and how many scores lie in higher buckets (after pass 1).
    private(set) var bucket: UInt32 = 0
    private(set) var aboveBucket = 0

    init(dropCount: Int) { self.dropCount = dropCount }

    /// Between the passes: finds the bucket holding the dropCount-th highest score, from pass 1's
    /// count of every score by the upper 16 bits of its key.
    mutating func chooseBucket(coarse: [Int]) {
        guard dropCount > 0 else { return }
        var above = 0
        for b in stride(from: coarse.count - 1, through: 0, by: -1) where coarse[b] > 0 {
            if above + coarse[b] >= dropCount {
                bucket = UInt32(b)
                aboveBucket = above
                return
            }
            above += coarse[b]
        }
    }

    /// Where a score lies against the chosen bucket (pass 2 only).
    enum Side { case above, inside, below }

    /// Pass 2: every score once, the same scores as pass 1.
    @discardableResult
    mutating func countFine(_ score: Float) -> Side {
        guard dropCount > 0 else { return .below }
        let key = Self.key(score)
        let high = key >> 16
        if high > bucket { return .above }
        if high < bucket { return .below }
        fine[Int(key & 0xFFFF)] += 1
        return .inside
    }

    /// The cut after pass 2; nil when nothing is dropped (q N rounds up to 0).
    func result() -> Result? {
        guard dropCount > 0 else { return nil }
        var above = aboveBucket
        for low in stride(from: fine.count - 1, through: 0, by: -1) where fine[low] > 0 {
            if above + fine[low] >= dropCount {
                let cutKey = bucket << 16 | UInt32(low)
                let inside = (low + 1..<fine.count).filter { fine[$0] > 0 }.map { (Self.value(ofKey: bucket << 16 | UInt32($0)), fine[$0]) }
                return Result(score: Self.value(ofKey: cutKey), above: above, tiesAtCut: fine[low],
                              tiesDropped: dropCount - above, bucketValuesAbove: inside)
            }
            above += fine[low]
        }
        preconditionFailure("pass 2 saw fewer scores than pass 1")
    }

    struct Result: Equatable {
        /// The lowest dropped score: every sample above it is dropped, and some exactly at it.
        let score: Float
        /// Samples scoring strictly above `score`.
        let above: Int
        /// Samples scoring exactly `score`, and how many of them (the lowest-numbered) are dropped.
        let tiesAtCut: Int
        let tiesDropped: Int
        /// The distinct values of the cut's coarse bucket above `score`, with their counts, so that
        /// a histogram can place every dropped sample of that bucket in its bin.
        let bucketValuesAbove: [(Float, Int)]

        static func == (a: Result, b: Result) -> Bool {
            a.score == b.score && a.above == b.above && a.tiesAtCut == b.tiesAtCut && a.tiesDropped == b.tiesDropped
        }
    }
}
