/// Text from files (tensor names, paths, config values) made safe to print on a terminal or into
/// a log: control characters (ESC sequences that recolour, move the cursor or retitle the window;
/// a newline that forges a second line; C1 controls) and the bidirectional overrides that reorder
/// what a reader sees are written as `\u001b`-style escapes. Printable text, any script, is
/// unchanged. Every line saegeo prints for a person goes through here (Console, inspect); JSON
/// output escapes on its own.
enum TerminalText {
    static func safe<S: StringProtocol>(_ text: S) -> String {
        guard text.unicodeScalars.contains(where: needsEscape) else { return String(text) }
        var out = ""
        for scalar in text.unicodeScalars {
            if needsEscape(scalar) {
                let hex = String(scalar.value, radix: 16)
                out += "\\u" + String(repeating: "0", count: max(0, 4 - hex.count)) + hex
            } else {
                out.unicodeScalars.append(scalar)
            }
        }
        return out
    }

    static func needsEscape(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.value {
        case 0..<0x20, 0x7F...0x9F: true   // C0, DEL, C1
        case 0x202A...0x202E, 0x2066...0x2069, 0x200E, 0x200F, 0x061C: true   // bidi overrides and marks
        default: false
        }
    }
}
