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
        let z = object["z_score"]
        guard z == nil || z!.isNull || z!.doubleValue != nil else {
            throw SaegeoError.badInput("\(path): \"z_score\" is \(z!.kindName); it must be a number or null")
        }
        return NullComparison(path: path, samples: object["samples"]?.intValue, meanScore: object["mean_score"]?.doubleValue,
                              meanProximity: try number("mean_proximity"), nullMean: try number("null_mean"),
                              nullStd: try number("null_std"), nullSets: object["null_sets"]?.intValue, zScore: z?.doubleValue)
    }
}
