import Foundation

/// Text made safe for HTML: everything a report shows from its inputs (sample texts, paths, column
/// names) goes through `escape`, so `<script>` in a dataset shows as those characters and never
/// becomes markup. Attribute values are quoted with `"`, which is escaped too.
enum HTMLText {
    static func escape(_ text: String) -> String {
        var out = ""
        out.reserveCapacity(text.utf8.count)
        for scalar in text.unicodeScalars {
            switch scalar {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            // Control characters other than tab and newline are not allowed in HTML text.
            case "\u{0}"..."\u{8}", "\u{B}", "\u{C}", "\u{E}"..."\u{1F}", "\u{7F}": out += "\u{FFFD}"
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out
    }

    /// A number for people: 4 significant digits, no exponent for ordinary magnitudes.
    static func number(_ value: Double) -> String {
        guard value.isFinite else { return value.isNaN ? "n/a" : (value > 0 ? "+inf" : "-inf") }
        if value == 0 { return "0" }
        let magnitude = abs(value)
        return magnitude >= 1e-3 && magnitude < 1e6 ? String(format: "%.4g", value) : String(format: "%.3e", value)
    }

    /// A count with thousands separators (1,000,000).
    static func count(_ value: Int) -> String {
        let digits = String(abs(value))
        var out = ""
        for (i, character) in digits.enumerated() {
            if i > 0, (digits.count - i) % 3 == 0 { out += "," }
            out.append(character)
        }
        return (value < 0 ? "-" : "") + out
    }

    /// A byte size as ByteCount writes it elsewhere.
    static func bytes(_ value: Int?) -> String {
        value.map { "\(ByteCount.format($0)) (\(count($0)) bytes)" } ?? "unknown"
    }
}
