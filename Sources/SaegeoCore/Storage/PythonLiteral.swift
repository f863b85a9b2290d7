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
    // Internal, not private: PythonLiteral+Strings.swift reads string literals with them.
    let text: [Unicode.Scalar]
    var at = 0
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

    func fail(_ reason: String) -> PythonLiteralError { PythonLiteralError(reason: reason, offset: at) }
    var current: Unicode.Scalar? { at < text.count ? text[at] : nil }

    func isNewline(_ c: Unicode.Scalar) -> Bool { c == "\n" || c == "\r" }

    /// Skips a newline (\n, \r\n or \r) at `at`, if there is one.
    mutating func newline() -> Bool {
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
    mutating func space(inBrackets: Bool) {
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
}
