/// A JSON value written back as compact JSON text: what every message shows for a value it
/// quotes from a file. Without this, interpolating a JSONValue printed Swift's debug form
/// (`string("<script>")`), which is neither what the file says nor valid JSON.
extension JSONValue: CustomStringConvertible {
    public var description: String { jsonText }

    /// Compact JSON; strings escaped as RFC 8259 requires (control characters as \u00XX), so the
    /// text never carries a raw ESC or newline into a terminal or a log.
    public var jsonText: String {
        switch self {
        case .object(let object):
            return "{" + object.members.map { Self.quoted($0.key) + ":" + $0.value.jsonText }.joined(separator: ",") + "}"
        case .array(let items): return "[" + items.map(\.jsonText).joined(separator: ",") + "]"
        case .string(let s): return Self.quoted(s)
        case .integer(let v): return String(v)
        case .number(let v): return "\(v)"
        case .bool(let v): return v ? "true" : "false"
        case .null: return "null"
        }
    }

    /// A string as a JSON string literal (also the safetensors writer's, so files and messages
    /// escape alike).
    public static func quoted(_ s: String) -> String {
        var text = "\""
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\"": text += "\\\""
            case "\\": text += "\\\\"
            case "\n": text += "\\n"
            case "\r": text += "\\r"
            case "\t": text += "\\t"
            case _ where scalar.value < 0x20:
                text += "\\u" + String(repeating: "0", count: 4 - String(scalar.value, radix: 16).count) + String(scalar.value, radix: 16)
            default: text.unicodeScalars.append(scalar)
            }
        }
        return text + "\""
    }
}
