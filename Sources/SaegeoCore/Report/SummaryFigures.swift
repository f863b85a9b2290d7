/// Reads `score --summary`'s JSON (DatasetSummary): the dataset's mean toxic proximity against
/// the null of random non-toxic feature sets.
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
        return NullComparison(path: path, samples: object["samples"]?.intValue, meanScore: object["mean_score"]?.doubleValue,
                              meanProximity: try number("mean_proximity"), nullMean: try number("null_mean"),
                              nullStd: nullStd, nullSets: object["null_sets"]?.intValue, zScore: z?.doubleValue)
    }
}
