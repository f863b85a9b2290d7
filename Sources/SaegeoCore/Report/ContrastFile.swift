/// Reads a per-feature contrast ranking leniently: `.jsonl` objects or `.csv` rows with at least a
/// `feature` (integer) and a `t` column, any others shown as they are: `contrast`'s own output or
/// any such file, so the reader asks only for those two names. A `t` written as text ("inf", as
/// contrast writes an infinity) is read as a number where it parses; one that does not (null,
/// "nan") and a feature marked `dead` rank last. Keeps the `limit` features of highest t (ties to the lower id), trimming as it goes.
enum ContrastFile {
    /// Extra columns shown beside feature and t.
    static let shownColumns = 6

    static func read(_ path: String, limit: Int) throws -> ContrastTable {
        let lower = path.lowercased()
        guard lower.hasSuffix(".jsonl") || lower.hasSuffix(".csv") else {
            throw SaegeoError.badInput("cannot tell the format of \(path); a contrast ranking comes as .jsonl or .csv with columns feature,t,...")
        }
        let csv = lower.hasSuffix(".csv")
        var header: [String]?
        var extra: [String] = []
        var kept: [ContrastTable.Row] = []
        var features = 0
        func trim() {
            kept.sort { a, b in
                switch (a.t, b.t) {
                case let (x?, y?): return x != y ? x > y : a.feature < b.feature
                case (.some, nil): return true
                case (nil, .some): return false
                case (nil, nil): return a.feature < b.feature
                }
            }
            if kept.count > limit { kept.removeLast(kept.count - limit) }
        }
        try LineReader.forEachLine(of: path, what: "contrast ranking") { number, line in
            if LineReader.isBlank(line) { return true }
            var fields: [String: String] = [:]
            if csv {
                let cells = line.split(separator: 0x2C, omittingEmptySubsequences: false)
                    .map { String(decoding: $0, as: UTF8.self).trimmingCharacters(in: .whitespaces) }
                guard let names = header else {
                    guard cells.contains("feature"), cells.contains("t") else {
                        throw SaegeoError.badInput("\(path): the first line must name the columns feature,t[,...]")
                    }
                    header = cells
                    extra = Array(cells.filter { $0 != "feature" && $0 != "t" }.prefix(shownColumns))
                    return true
                }
                guard cells.count == names.count else {
                    throw SaegeoError.badInput("\(path) line \(number): \(cells.count) columns where the header names \(names.count)")
                }
                fields = Dictionary(zip(names, cells), uniquingKeysWith: { a, _ in a })
            } else {
                guard let object = (try? StrictJSON.parse(line))?.objectValue else {
                    throw SaegeoError.badInput("\(path) line \(number): expected a JSON object with \"feature\" and \"t\"")
                }
                if header == nil {
                    header = object.keys
                    extra = Array(object.keys.filter { $0 != "feature" && $0 != "t" }.prefix(shownColumns))
                }
                for (key, value) in object.members { fields[key] = describe(value) }
            }
            guard let feature = fields["feature"].flatMap({ ScoreLines.integer($0.utf8) }), feature >= 0, let t = fields["t"] else {
                throw SaegeoError.badInput("\(path) line \(number): expected a feature id (an integer) and a t value")
            }
            features += 1
            // A dead feature (contrast's `dead` column) ranks last, as contrast ranks it.
            let dead = ["true", "1"].contains(fields["dead"] ?? "")
            let value = dead ? nil : Double(t).flatMap { $0.isNaN ? nil : $0 }
            kept.append(ContrastTable.Row(feature: feature, t: value, values: extra.map { fields[$0] ?? "" }))
            if kept.count >= 2 * max(limit, 1024) { trim() }
            return true
        }
        trim()
        guard features > 0 else { throw SaegeoError.badInput("\(path) holds no features; expected rows of feature,t,...") }
        return ContrastTable(path: path, columns: extra, rows: kept, features: features)
    }

    /// A JSON value as a cell: numbers and strings as written, anything else as compact text.
    static func describe(_ value: JSONValue) -> String {
        switch value {
        case .integer(let v): String(v)
        case .number(let v): String(v)
        case .string(let v): v
        case .bool(let v): String(v)
        case .null: "null"
        case .array(let items): "[" + items.map(describe).joined(separator: ", ") + "]"
        case .object(let object): "{" + object.members.map { "\($0.key): \(describe($0.value))" }.joined(separator: ", ") + "}"
        }
    }
}
