/// Reads a scores file in two streaming passes into what the report shows of it: the histogram
/// with the filter's cut, the mean, and the riskiest samples with their explanations. Memory is
/// fixed (bins, the cut's 2 x 65536 counters, the N kept samples, a bit per sample), so a file of
/// millions of samples costs what its reading costs.
///
/// Pass 1 counts, finds the range and the mean, keeps the riskiest N and the cut's coarse counts;
/// pass 2 fills the bins (their range is known now) and pins the cut (ScoreCut). A file that
/// changes between the passes is caught by its count and range, and refused.
enum ScoreDistribution {
    static func read(_ path: String, dropFraction: Double, top: Int, bins: Int) throws -> (ScoreOverview, [RiskySample]) {
        var lowest = Float.infinity, highest = -Float.infinity, sum = 0.0
        var riskiest = RiskiestSamples<(active: Int?, explanations: [Explanation])>(limit: top)
        var coarse: [Int] = [Int](repeating: 0, count: 1 << 16)
        let samples = try ScoreRecords.read(path) { record in
            lowest = min(lowest, record.score)
            highest = max(highest, record.score)
            sum += Double(record.score)
            coarse[Int(ScoreCut.key(record.score) >> 16)] += 1
            try riskiest.offer(sample: record.sample, score: record.score) {
                (record.active, try explanations(record.details, sample: record.sample, path: path))
            }
        }
        var cut = ScoreCut(dropCount: try SampleFilter.dropCount(samples: samples, fraction: dropFraction))
        cut.chooseBucket(coarse: coarse)
        var histogram = ScoreHistogram(lowest: lowest, highest: highest, bins: bins)
        var lowest2 = Float.infinity, highest2 = -Float.infinity
        let again = try ScoreRecords.read(path) { record in
            lowest2 = min(lowest2, record.score)
            highest2 = max(highest2, record.score)
            histogram.add(record.score, dropped: cut.countFine(record.score) == .above)
        }
        guard again == samples, lowest2 == lowest, highest2 == highest else {
            throw SaegeoError.badInput("\(path) changed while it was read (\(samples) samples, then \(again)); run the report again when it is complete")
        }
        let result = cut.result()
        if let result {
            for (value, count) in result.bucketValuesAbove { histogram.addDropped(value, count: count) }
            histogram.addDropped(result.score, count: result.tiesDropped)
        }
        let overview = ScoreOverview(path: path, samples: samples, meanScore: sum / Double(samples), dropFraction: dropFraction,
                                     dropped: cut.dropCount, cutScore: result?.score, tiesAtCut: result?.tiesAtCut ?? 0,
                                     tiesDropped: result?.tiesDropped ?? 0, histogram: histogram)
        let rows = riskiest.ranked.map {
            RiskySample(sample: $0.sample, score: $0.score, active: $0.payload.active, explanations: $0.payload.explanations)
        }
        return (overview, rows)
    }

    /// The `explain` list of a .jsonl score line, as `score --explain` writes it; none for a line
    /// without one (and for .csv and .safetensors scores).
    static func explanations(_ details: JSONObject?, sample: Int, path: String) throws -> [Explanation] {
        guard let list = details?["explain"] else { return [] }
        guard let entries = list.arrayValue else {
            throw SaegeoError.badInput("\(path): sample \(sample)'s \"explain\" is \(list.kindName); score --explain writes a list")
        }
        return try entries.map { entry in
            guard let object = entry.objectValue, let feature = object["feature"]?.intValue,
                  let activation = object["activation"]?.doubleValue, let proximity = object["proximity"]?.doubleValue,
                  let nearest = object["nearest_toxic"]?.intValue else {
                throw SaegeoError.badInput("\(path): sample \(sample)'s \"explain\" holds an entry without the integers \"feature\" and \"nearest_toxic\" and the numbers \"activation\" and \"proximity\"")
            }
            return Explanation(feature: feature, activation: activation, proximity: proximity, nearestToxic: nearest)
        }
    }
}
