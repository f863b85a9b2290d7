/// A Python literal as `ast.literal_eval` reads it: the grammar of an .npy header.
///
/// numpy reads an .npy header with `ast.literal_eval` and only then checks its keys and types
/// (numpy/lib/format.py `_read_array_header`), so a header means what Python makes of it: a key
/// given twice keeps its last value, 'sha' 'pe' is 'shape', a comment is nothing. Matching its
/// text with patterns reads some headers differently from numpy; parsing it as Python does
/// cannot. This parser reads the literals a header can hold (dicts, tuples, lists, strings with
/// their prefixes, escapes and implicit concatenation, integers in every base, True, False,
/// None, one sign on a number) and refuses everything else. What it refuses that Python would
/// accept (floats, sets, \N{...} escapes, an odd line layout outside brackets) numpy refuses
/// too in every place a header could use it, or never writes.
indirect enum PythonLiteral {
    case string(String)
    case bytes
    case int(Int)
    /// An integer outside Int's range (only its sign is kept).
    case bigInt(negative: Bool)
    case bool(Bool)
    case none
    case tuple([PythonLiteral])
    case list([PythonLiteral])
    /// Entries in the order written, repeated keys included (the reader decides what a
    /// repeated key means: for a dict literal, the last value).
    case dict([(key: PythonLiteral, value: PythonLiteral)])

    /// What the value is, for messages, on one line and short.
    var shortDescription: String {
        switch self {
        case .string(let s): "'\(printable(s, limit: 30))'"
        case .bytes: "a bytes literal"
        case .int(let i): String(i)
        case .bigInt: "an integer beyond 64 bits"
        case .bool(let b): b ? "True" : "False"
        case .none: "None"
        case .tuple(let items): items.count > 4 ? "a tuple of \(items.count)" : "(" + items.map(\.shortDescription).joined(separator: ", ") + (items.count == 1 ? ",)" : ")")
        case .list(let items): "a list of \(items.count)"
        case .dict: "a dict"
        }
    }
}

/// Why a text is not a literal, and where (a character offset).
struct PythonLiteralError: Error {
    let reason: String
    let offset: Int
}

/// Reads one literal from the whole of a text, as `ast.literal_eval(text)` does.
struct PythonLiteralParser {
    private let text: [Unicode.Scalar]
    private var at = 0
    /// Whether the text gets numpy's second try: a version 1 or 2 header that Python 3 cannot
    /// parse is parsed again after `_filter_header` (tokenize, drop each L after a number,
    /// untokenize), which reads a Python 2 long ("2L") as its integer and drops a last line of
    /// only spaces (which Python alone refuses as an unexpected indent).
    private let numpyRetries: Bool
    /// Nesting deeper than this is refused (Python's own parser has a limit too).
    static let maxDepth = 64

    init(_ text: [Unicode.Scalar], numpyRetries: Bool) {
        self.text = text
        self.numpyRetries = numpyRetries
    }

    mutating func parse() throws -> PythonLiteral {
        guard !text.contains("\0") else { throw PythonLiteralError(reason: "holds a NUL character, which Python source cannot", offset: text.firstIndex(of: "\0")!) }
        // literal_eval strips leading spaces and tabs; the value must then start the line.
        while at < text.count, text[at] == " " || text[at] == "\t" { at += 1 }
        let value = try self.value(depth: 0, inBrackets: false, signed: true)
        try trailer()
        return value
    }

    // MARK: Layout

    private func fail(_ reason: String) -> PythonLiteralError { PythonLiteralError(reason: reason, offset: at) }
    private var current: Unicode.Scalar? { at < text.count ? text[at] : nil }

    private func isNewline(_ c: Unicode.Scalar) -> Bool { c == "\n" || c == "\r" }

    /// Skips a newline (\n, \r\n or \r) at `at`, if there is one.
    private mutating func newline() -> Bool {
        guard let c = current, isNewline(c) else { return false }
        at += 1
        if c == "\r", current == "\n" { at += 1 }
        return true
    }

    private mutating func comment() {
        guard current == "#" else { return }
        while let c = current, !isNewline(c) { at += 1 }
    }

    /// Skips what separates tokens: inside brackets any whitespace, newline, comment or
    /// backslash-newline; outside them only spaces, tabs and form feeds (a newline ends the
    /// expression there).
    private mutating func space(inBrackets: Bool) {
        while let c = current {
            if c == " " || c == "\t" || c == "\u{0C}" {
                at += 1
            } else if inBrackets, isNewline(c) {
                at += 1
            } else if inBrackets, c == "#" {
                comment()
            } else if inBrackets, c == "\\", at + 1 < text.count, isNewline(text[at + 1]) {
                at += 1
                _ = newline()
            } else {
                return
            }
        }
    }

    /// After the value: spaces and a comment, then only blank or comment lines. numpy writes
    /// spaces and one newline; of the other layouts, these are the ones numpy reads (checked
    /// against numpy 2.4 on Python 3.11): a last line of only spaces and tabs is an unexpected
    /// indent to Python, read only on numpy's second try, after a "\n".
    private mutating func trailer() throws {
        space(inBrackets: false)
        comment()
        while newline() {
            let line = at
            while let c = current, c == " " || c == "\t" || c == "\u{0C}" { at += 1 }
            comment()
            let blankLast = current == nil && at > line && !text[line..<at].contains("#")
            if blankLast, text[at - 1] != "\u{0C}", !(numpyRetries && text[line - 1] == "\n") {
                throw fail("ends with an indented blank line, which Python refuses as an unexpected indent")
            }
        }
        guard current == nil else { throw fail("continues after its value") }
    }

    // MARK: Values

    private mutating func value(depth: Int, inBrackets: Bool, signed: Bool) throws -> PythonLiteral {
        guard depth <= Self.maxDepth else { throw fail("nests more than \(Self.maxDepth) deep") }
        guard let c = current else { throw fail("ends where a value should be") }
        switch c {
        case "{": return try dict(depth: depth)
        case "(": return try parenthesised(depth: depth, signed: signed)
        case "[":
            at += 1
            return .list(try items(closing: "]", depth: depth))
        case "+", "-":
            // One sign on a number (literal_eval's rule: not on True, not twice).
            guard signed else { throw fail("has a sign where literal_eval allows none") }
            at += 1
            space(inBrackets: inBrackets)
            let operand = try value(depth: depth + 1, inBrackets: inBrackets, signed: false)
            switch operand {
            case .int(let i): return c == "-" ? (i == Int.min ? .bigInt(negative: false) : .int(-i)) : .int(i)
            case .bigInt(let negative): return .bigInt(negative: c == "-" ? !negative : negative)
            default: throw fail("puts a sign on \(operand.shortDescription), which is not a number")
            }
        case "'", "\"": return try strings(inBrackets: inBrackets)
        case "0"..."9", ".": return try number()
        default:
            guard c.properties.isXIDStart || c == "_" else { throw fail("has the character U+\(String(c.value, radix: 16, uppercase: true)), which no literal starts with") }
            let start = at
            while let d = current, d.properties.isXIDContinue { at += 1 }
            if current == "'" || current == "\"" {
                at = start
                return try strings(inBrackets: inBrackets)
            }
            switch String(String.UnicodeScalarView(text[start..<at])) {
            case "True": return .bool(true)
            case "False": return .bool(false)
            case "None": return .none
            case let name: throw PythonLiteralError(reason: "names '\(printable(name, limit: 30))', which is not a literal", offset: start)
            }
        }
    }

    /// `( )`: the empty tuple, a tuple (a comma inside), or a parenthesised value.
    private mutating func parenthesised(depth: Int, signed: Bool) throws -> PythonLiteral {
        at += 1
        space(inBrackets: true)
        if current == ")" {
            at += 1
            return .tuple([])
        }
        let first = try value(depth: depth + 1, inBrackets: true, signed: signed)
        space(inBrackets: true)
        if current == ")" {
            at += 1
            return first
        }
        guard current == "," else { throw fail("has no comma or ')' after a value") }
        at += 1
        return .tuple([first] + (try items(closing: ")", depth: depth)))
    }

    /// Comma-separated values up to `closing` (a trailing comma allowed), `at` just past the
    /// opening bracket or a comma.
    private mutating func items(closing: Unicode.Scalar, depth: Int) throws -> [PythonLiteral] {
        var items: [PythonLiteral] = []
        while true {
            space(inBrackets: true)
            if current == closing {
                at += 1
                return items
            }
            items.append(try value(depth: depth + 1, inBrackets: true, signed: true))
            space(inBrackets: true)
            if current == closing { continue }
            guard current == "," else { throw fail("has no comma or '\(closing)' after a value") }
            at += 1
        }
    }

    private mutating func dict(depth: Int) throws -> PythonLiteral {
        at += 1
        var entries: [(key: PythonLiteral, value: PythonLiteral)] = []
        while true {
            space(inBrackets: true)
            if current == "}" {
                at += 1
                return .dict(entries)
            }
            let key = try value(depth: depth + 1, inBrackets: true, signed: true)
            space(inBrackets: true)
            guard current == ":" else { throw fail("has a set or a key without ':', not a dict entry") }
            at += 1
            space(inBrackets: true)
            let value = try self.value(depth: depth + 1, inBrackets: true, signed: true)
            entries.append((key, value))
            space(inBrackets: true)
            if current == "}" { continue }
            guard current == "," else { throw fail("has no comma or '}' after a dict entry") }
            at += 1
        }
    }

    // MARK: Numbers

    /// An integer in any base, with underscores; a float or complex number is refused.
    private mutating func number() throws -> PythonLiteral {
        let start = at
        while let c = current, c.properties.isXIDContinue || c == "." { at += 1 }
        var token = String(String.UnicodeScalarView(text[start..<at]))
        if numpyRetries, token.hasSuffix("L") { token.removeLast() }
        guard let value = Self.integer(token) else {
            throw PythonLiteralError(reason: "has the number '\(printable(token, limit: 30))', which is not an integer literal", offset: start)
        }
        return value
    }

    /// Python 3's integer literal grammar: decimal without leading zeros (except 0 itself),
    /// 0x / 0o / 0b, single underscores between digits.
    static func integer(_ token: String) -> PythonLiteral? {
        var digits = Substring(token)
        var radix = 10
        let lower = token.lowercased()
        if lower.hasPrefix("0x") { radix = 16 } else if lower.hasPrefix("0o") { radix = 8 } else if lower.hasPrefix("0b") { radix = 2 }
        if radix != 10 {
            digits = digits.dropFirst(2)
            if digits.hasPrefix("_") { digits = digits.dropFirst() }   // 0x_1f is allowed
        }
        guard let first = digits.first, first != "_", digits.last != "_", !digits.contains("__") else { return nil }
        let plain = digits.filter { $0 != "_" }
        if radix == 10, first == "0", plain.contains(where: { $0 != "0" }) { return nil }
        guard plain.allSatisfy({ $0.isASCII && $0.hexDigitValue.map { $0 < radix } == true }) else { return nil }
        guard let value = Int(plain, radix: radix) else { return .bigInt(negative: false) }
        return .int(value)
    }

    // MARK: Strings

    /// One or more adjacent string literals, concatenated (bytes and str cannot be mixed).
    private mutating func strings(inBrackets: Bool) throws -> PythonLiteral {
        var text = ""
        var isBytes: Bool?
        while true {
            let start = at
            while let c = current, c != "'", c != "\"" { at += 1 }
            let prefix = String(String.UnicodeScalarView(self.text[start..<at])).lowercased()
            guard ["", "u", "r", "b", "br", "rb"].contains(prefix) else {
                throw PythonLiteralError(reason: prefix.contains("f") ? "has an f-string, which is not a literal" : "has a string prefix '\(printable(prefix))' Python does not have", offset: start)
            }
            let bytes = prefix.contains("b")
            if let isBytes, isBytes != bytes { throw fail("joins bytes and str literals, which Python refuses") }
            isBytes = bytes
            text += try string(raw: prefix.contains("r"), bytes: bytes)
            // Another literal may follow, after layout (a prefix letter or a quote starts it).
            let before = at
            space(inBrackets: inBrackets)
            var look = at
            while look < self.text.count, look - at < 2, "uUrRbB".unicodeScalars.contains(self.text[look]) { look += 1 }
            guard look < self.text.count, self.text[look] == "'" || self.text[look] == "\"" else {
                at = before
                space(inBrackets: inBrackets)
                break
            }
        }
        return isBytes == true ? .bytes : .string(text)
    }

    /// The body of one literal, `at` on its opening quote.
    private mutating func string(raw: Bool, bytes: Bool) throws -> String {
        let quote = text[at]
        let triple = at + 2 < text.count && text[at + 1] == quote && text[at + 2] == quote
        at += triple ? 3 : 1
        var out = String.UnicodeScalarView()
        while true {
            guard let c = current else { throw fail("has a string that never ends") }
            if c == quote, !triple || (at + 2 < text.count && text[at + 1] == quote && text[at + 2] == quote) {
                at += triple ? 3 : 1
                return String(out)
            }
            if isNewline(c), !triple { throw fail("has a newline inside a one-line string") }
            if bytes, !c.isASCII { throw fail("has a non-ASCII character in a bytes literal") }
            at += 1
            guard c == "\\" else {
                out.append(c)
                continue
            }
            guard let e = current else { throw fail("has a string that never ends") }
            if raw {
                // A backslash in a raw string stays, and keeps the next character from ending it.
                out.append(c)
                if isNewline(e) { _ = newline(); out.append("\n") } else { out.append(e); at += 1 }
                continue
            }
            if newline() { continue }   // backslash-newline: nothing
            at += 1
            switch e {
            case "\\", "'", "\"": out.append(e)
            case "a": out.append("\u{07}")
            case "b": out.append("\u{08}")
            case "f": out.append("\u{0C}")
            case "n": out.append("\n")
            case "r": out.append("\r")
            case "t": out.append("\t")
            case "v": out.append("\u{0B}")
            case "0"..."7":
                var value = Int(e.value) - 48
                for _ in 0..<2 {
                    guard let d = current, ("0"..."7").contains(d) else { break }
                    value = value * 8 + Int(d.value) - 48
                    at += 1
                }
                out.append(Unicode.Scalar(UInt32(value))!)
            case "x", "u" where !bytes, "U" where !bytes:
                let count = e == "x" ? 2 : e == "u" ? 4 : 8
                guard at + count <= text.count,
                      let value = UInt32(String(String.UnicodeScalarView(text[at..<(at + count)])), radix: 16),
                      text[at..<(at + count)].allSatisfy({ $0.properties.isASCIIHexDigit }),
                      let scalar = Unicode.Scalar(value) else {
                    throw fail("has a \\\(e) escape that is not \(count) hex digits of a character")
                }
                at += count
                out.append(scalar)
            case "N" where !bytes:
                throw fail("has a \\N{...} escape, which saegeo does not read")
            default:
                // An unknown escape keeps its backslash (Python warns but accepts it).
                out.append(c)
                out.append(e)
            }
        }
    }
}
