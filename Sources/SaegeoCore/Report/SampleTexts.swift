/// The texts of a few samples, picked from a dataset file as it streams by (line i is sample i, as
/// for `filter`): only the wanted lines are decoded, so the dataset may be of any size.
enum SampleTexts {
    /// Characters of a sample shown in the report; the rest is counted, not shown, so that one
    /// huge line cannot swell the report.
    static let shownCharacters = 2000

    /// The text of each wanted sample with the characters left out; the dataset must have exactly
    /// `expected` lines (the scores' count), and reading stops at the first line past it.
    static func pick(_ wanted: Set<Int>, from path: String, expected: Int) throws -> [Int: (text: String, omitted: Int)] {
        var texts: [Int: (text: String, omitted: Int)] = [:]
        var tooLong = false
        let lines = try LineReader.forEachLine(of: path, what: "dataset") { number, line in
            let sample = number - 1
            guard sample < expected else { tooLong = true; return false }
            if wanted.contains(sample) { texts[sample] = shortened(text(of: line)) }
            return true
        }
        guard !tooLong, lines == expected else {
            throw SaegeoError.badInput("\(path) has \(tooLong ? "more than \(expected)" : "\(lines)") lines but the scores \(expected) samples; line i of the dataset must be sample i: give the dataset the scores were computed for")
        }
        return texts
    }

    /// A fine-tuning line's text: the `text` field (as `generate` writes it and most sets hold),
    /// else `content`, a chat's `messages` (role: content per turn), `prompt` and `completion`;
    /// a line that is none of these (or not JSON) is shown as it is.
    static func text(of line: UnsafeRawBufferPointer) -> String {
        let raw = String(decoding: line, as: UTF8.self)
        guard let object = (try? StrictJSON.parse(line))?.objectValue else { return raw }
        for key in ["text", "content"] { if let text = object[key]?.stringValue { return text } }
        for key in ["messages", "conversations"] {
            guard let turns = object[key]?.arrayValue else { continue }
            let parts = turns.compactMap { turn -> String? in
                guard let turn = turn.objectValue else { return turn.stringValue }
                let role = turn["role"]?.stringValue ?? turn["from"]?.stringValue
                guard let content = turn["content"]?.stringValue ?? turn["value"]?.stringValue else { return nil }
                return role.map { "\($0): \(content)" } ?? content
            }
            if !parts.isEmpty { return parts.joined(separator: "\n") }
        }
        let pair = ["prompt", "completion"].compactMap { object[$0]?.stringValue }
        return pair.isEmpty ? raw : pair.joined(separator: "\n")
    }

    static func shortened(_ text: String) -> (text: String, omitted: Int) {
        guard text.count > shownCharacters else { return (text, 0) }
        return (String(text.prefix(shownCharacters)), text.count - shownCharacters)
    }
}
