import Foundation

/// The sources ArchitectureTests reads: each Swift file as written and as code only, with the
/// names it mentions.
extension ArchitectureTests {
    /// One Swift file of Sources/, as written and as code only (same lines, so line numbers agree).
    struct SourceFile: Sendable {
        let path: String      // from the repository root
        let lines: [String]
        let code: [String]

        /// The first folder under Sources/SaegeoCore ("root" for the files directly in it).
        var folder: String {
            let parts = path.split(separator: "/")
            return parts.count > 3 ? String(parts[2]) : "root"
        }
        var pathInCore: String { String(path.dropFirst("Sources/SaegeoCore/".count)) }
        var codeText: String { code.joined(separator: "\n") }

        static func all(under directory: URL, prefix: String = "Sources/") -> [SourceFile] {
            let relative = (FileManager.default.enumerator(atPath: directory.path)?.allObjects as? [String] ?? [])
                .filter { $0.hasSuffix(".swift") }.sorted()
            return relative.compactMap { name in
                // Decoded leniently: a file that is not valid UTF-8 is still checked, not skipped.
                guard let data = FileManager.default.contents(atPath: directory.appendingPathComponent(name).path) else { return nil }
                let text = String(decoding: data, as: UTF8.self)
                return SourceFile(path: prefix + name, lines: text.sourceLines, code: codeOnly(text).sourceLines)
            }
        }

        /// Identifiers this file's code mentions, except members (after a dot), names being declared
        /// as functions and argument labels (lower case, before a colon): `x.roundUp`, a method
        /// `func roundUp` or `f(roundUp: 1)` is not the top-level `roundUp`.
        /// In order of first mention, so that failure messages are the same from run to run.
        func mentionedNames() -> [String] {
            // A byte scan rather than a Regex: this runs over every line of the library.
            func isWordByte(_ b: UInt8) -> Bool {
                let lower = b | 0x20  // ASCII letters in lower case
                return b == UInt8(ascii: "_") || (lower >= UInt8(ascii: "a") && lower <= UInt8(ascii: "z")) || (b >= 0x30 && b <= 0x39)
            }
            var names: [String] = [], seen: Set<String> = []
            for line in code {
                let bytes = Array(line.utf8)
                var k = 0, previous = "", lastMark: UInt8 = 0  // the last identifier and the last other non-blank byte
                while k < bytes.count {
                    guard isWordByte(bytes[k]) else {
                        if bytes[k] != UInt8(ascii: " ") && bytes[k] != UInt8(ascii: "\t") { lastMark = bytes[k]; previous = "" }
                        k += 1
                        continue
                    }
                    let start = k
                    while k < bytes.count && isWordByte(bytes[k]) { k += 1 }
                    let word = String(decoding: bytes[start..<k], as: UTF8.self)
                    var next = k
                    while next < bytes.count && bytes[next] == UInt8(ascii: " ") { next += 1 }
                    let isLabel = next < bytes.count && bytes[next] == UInt8(ascii: ":") && bytes[start] >= UInt8(ascii: "a")
                    if lastMark != UInt8(ascii: ".") && previous != "func" && !isLabel && seen.insert(word).inserted {
                        names.append(word)
                    }
                    previous = word
                    lastMark = 0
                }
            }
            return names
        }

        /// The text with every comment and string literal replaced by spaces (newlines kept). Handles
        /// nested `/* */`, `"""` strings, raw strings (`#"..."#`) and the code inside `\( )`, strings
        /// in it included: that code is still code.
        static func codeOnly(_ text: String) -> String {
            var bytes = Array(text.utf8)
            let quote = UInt8(ascii: "\""), hash = UInt8(ascii: "#"), slash = UInt8(ascii: "/"), star = UInt8(ascii: "*")
            let backslash = UInt8(ascii: "\\"), newline = UInt8(ascii: "\n")
            enum Mode { case code, lineComment, blockComment(Int), string(hashes: Int, multiline: Bool) }
            var mode = Mode.code
            var interpolations: [(hashes: Int, multiline: Bool, parens: Int)] = []  // the strings we are inside
            var i = 0
            func at(_ k: Int) -> UInt8 { k < bytes.count ? bytes[k] : 0 }
            func blank(_ count: Int) {
                for k in i..<min(i + count, bytes.count) where bytes[k] != newline { bytes[k] = UInt8(ascii: " ") }
                i += count
            }
            func hashes(from k: Int) -> Int { var n = 0; while at(k + n) == hash { n += 1 }; return n }
            while i < bytes.count {
                switch mode {
                case .code:
                    let h = hashes(from: i)
                    if at(i) == slash && at(i + 1) == slash { mode = .lineComment; blank(2) }
                    else if at(i) == slash && at(i + 1) == star { mode = .blockComment(1); blank(2) }
                    else if at(i + h) == quote {
                        let multiline = at(i + h + 1) == quote && at(i + h + 2) == quote
                        mode = .string(hashes: h, multiline: multiline); blank(h + (multiline ? 3 : 1))
                    } else if at(i) == UInt8(ascii: "("), !interpolations.isEmpty {
                        interpolations[interpolations.count - 1].parens += 1; i += 1
                    } else if at(i) == UInt8(ascii: ")"), let open = interpolations.last {
                        if open.parens > 1 { interpolations[interpolations.count - 1].parens -= 1; i += 1; continue }
                        // The `)` that closes `\(`: back into the string it interrupted.
                        interpolations.removeLast()
                        mode = .string(hashes: open.hashes, multiline: open.multiline)
                        blank(1)
                    } else { i += max(h, 1) }
                case .lineComment:
                    if at(i) == newline { mode = .code; i += 1 } else { blank(1) }
                case .blockComment(let depth):
                    if at(i) == slash && at(i + 1) == star { mode = .blockComment(depth + 1); blank(2) }
                    else if at(i) == star && at(i + 1) == slash { mode = depth == 1 ? .code : .blockComment(depth - 1); blank(2) }
                    else { blank(1) }
                case .string(let h, let multiline):
                    if at(i) == backslash && (h == 0 || hashes(from: i + 1) == h) {
                        if at(i + 1 + h) == UInt8(ascii: "(") { interpolations.append((h, multiline, 1)); mode = .code }
                        blank(h + 2)  // the escape and its character, or `\(` itself
                    } else if at(i) == quote && (!multiline || (at(i + 1) == quote && at(i + 2) == quote))
                                && hashes(from: i + (multiline ? 3 : 1)) >= h {
                        mode = .code; blank((multiline ? 3 : 1) + h)
                    } else { blank(1) }
                }
            }
            return String(decoding: bytes, as: UTF8.self)
        }
    }
}

fileprivate extension String {
    /// The lines as `wc -l` counts them: a final newline does not start another line.
    var sourceLines: [String] {
        var lines = split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        if lines.last == "" { lines.removeLast() }
        return lines
    }
}
