/// Reads `score --summary`'s JSON (DatasetSummary): the dataset's mean toxic proximity against
/// its null, with the calibrated test's verdict where the file has one.
enum SummaryFigures {
    static func read(_ path: String) throws -> NullComparison {
        let data = try InputFile.contents(path, what: "summary", limit: 1 << 20)
        let value: JSONValue
        do {
            value = try StrictJSON.parse(Array(data))
        } catch let error as StrictJSONError {
            throw SaegeoError.badInput("\(path): not valid JSON (\(error.reason) at byte \(error.offset)); give the file score --summary wrote")
        }
        guard let object = value.objectValue else {
            throw SaegeoError.badInput("\(path): expected a JSON object as score --summary writes it")
        }
        func number(_ key: String) throws -> Double {
            guard let value = object[key]?.doubleValue, value.isFinite else {
                throw SaegeoError.badInput("\(path): \"\(key)\" is missing or not a number; give the file score --summary wrote")
            }
            return value
        }
        // Counts and a deviation cannot be negative: such a file was not written by score.
        for key in ["samples", "null_sets"] where object[key] != nil {
            guard let count = object[key]?.intValue, count >= 0 else {
                throw SaegeoError.badInput("\(path): \"\(key)\" is \(object[key]!.jsonText); it must be a count (an integer of at least 0)")
            }
        }
        let nullStd = try number("null_std")
        guard nullStd >= 0 else {
            throw SaegeoError.badInput("\(path): \"null_std\" is \(nullStd); a standard deviation is at least 0; give the file score --summary wrote")
        }
        let z = object["z_score"]
        guard z == nil || z!.isNull || z!.doubleValue != nil else {
            throw SaegeoError.badInput("\(path): \"z_score\" is \(z!.kindName); it must be a number or null")
        }
        var comparison = NullComparison(path: path, samples: object["samples"]?.intValue, meanScore: object["mean_score"]?.doubleValue,
                                        meanProximity: try number("mean_proximity"), nullMean: try number("null_mean"),
                                        nullStd: nullStd, nullSets: object["null_sets"]?.intValue, zScore: z?.doubleValue)
        // The calibrated test's keys (docs/statistics.md): the verdict as written, with its evidence.
        if let verdict = object["leans_toxic"] {
            guard let leans = verdict.boolValue else {
                throw SaegeoError.badInput("\(path): \"leans_toxic\" is \(verdict.kindName); it must be true or false")
            }
            comparison.leansToxic = leans
            func optional(_ key: String, within range: ClosedRange<Double>) throws -> Double? {
                guard let value = object[key], !value.isNull else { return nil }
                guard let number = value.doubleValue, range.contains(number) else {
                    throw SaegeoError.badInput("\(path): \"\(key)\" is \(value.jsonText); it must be a number from \(range.lowerBound) to \(range.upperBound) or null")
                }
                return number
            }
            comparison.pValue = try optional("p_value", within: 0...1)
            comparison.mcError = try optional("mc_error", within: 0...1)
            comparison.alpha = try optional("alpha", within: 0...1)
            comparison.intervalLevel = try optional("interval_level", within: 0...1)
            if let interval = object["interval"], !interval.isNull {
                guard let ends = interval.arrayValue, ends.count == 2, let low = ends[0].doubleValue, let high = ends[1].doubleValue,
                      low.isFinite, high.isFinite, low <= high else {
                    throw SaegeoError.badInput("\(path): \"interval\" is \(interval.jsonText); it must be [low, high] with low <= high, or null")
                }
                comparison.interval = (low, high)
            }
            if let reference = object["reference"], !reference.isNull {
                guard let fields = reference.objectValue, let mean = fields["mean_proximity"]?.doubleValue, mean.isFinite,
                      let difference = fields["difference"]?.doubleValue, difference.isFinite else {
                    throw SaegeoError.badInput("\(path): \"reference\" must be an object with finite \"mean_proximity\" and \"difference\", as score --reference writes it")
                }
                var interval: (low: Double, high: Double)?
                if let ends = fields["difference_interval"]?.arrayValue, ends.count == 2, let low = ends[0].doubleValue,
                   let high = ends[1].doubleValue, low.isFinite, high.isFinite, low <= high {
                    interval = (low, high)
                }
                comparison.reference = (fields["samples"]?.intValue, mean, difference, interval)
            }
        }
        return comparison
    }
}
