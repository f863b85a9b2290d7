/// Python's string literals, as the tokenizer reads them: the prefixes u, r, b (and rb/br), single
/// and triple quotes, the escapes of str and bytes, a backslash-newline inside a string, and
/// adjacent literals joined into one ('sha' 'pe' is 'shape'). An f-string and a \N{...} escape are
/// refused (saegeo reads neither in a header).
extension PythonLiteralParser {
    /// One or more adjacent string literals, concatenated (bytes and str cannot be mixed).
    mutating func strings(inBrackets: Bool) throws -> PythonLiteral {
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
            case "x",               // \x in str and bytes; \u and \U in str only
                 "u" where !bytes,
                 "U" where !bytes:
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
