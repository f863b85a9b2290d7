/// Reads a per-feature contrast ranking: `.jsonl` objects or `.csv` rows with at least a
/// `feature` (integer) and a `t` column, any others shown as they are: `contrast`'s own output or
/// any such file, so the reader asks only for those two names. Those two are read strictly: a
/// feature id is a decimal integer of at least 0 and appears once; t is a decimal number, or
/// "inf" / "-inf" as contrast writes an infinity. A feature marked `dead` ranks last whatever its
/// t (null or "nan" allowed there only: a ranking by t means nothing for a t that is not a number).
/// Keeps the `limit` features of highest t (ties to the lower id), trimming as it goes.
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
        var seen = Set<Int>()
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
                    .map { String(decoding: $0, as: UTF8.self) }
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
            guard let feature = fields["feature"].flatMap({ DecimalNumber.nonNegativeInt($0) }), let t = fields["t"] else {
                throw SaegeoError.badInput("\(path) line \(number): expected a feature id (an integer of at least 0) and a t value")
            }
            guard seen.insert(feature).inserted else {
                throw SaegeoError.badInput("\(path) line \(number): feature \(feature) appears a second time; a ranking names each feature once")
            }
            features += 1
            // A dead feature (contrast's `dead` column) ranks last, as contrast ranks it.
            let dead = ["true", "1"].contains(fields["dead"] ?? "")
            let parsed: Double? = switch t {
            case "inf": .infinity
            case "-inf": -.infinity
            default: DecimalNumber.double(t)
            }
            guard parsed != nil || dead else {
                throw SaegeoError.badInput("\(path) line \(number): feature \(feature)'s t is '\(t.prefix(40))', not a number (a decimal, inf or -inf); give contrast's output")
            }
            let value = dead ? nil : parsed
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
