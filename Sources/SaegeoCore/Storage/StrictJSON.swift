/// A strict JSON reader (RFC 8259) for untrusted files: safetensors headers, shard manifests,
/// score lines. One pass over the bytes, so a header of 200k tensors costs what its length costs;
/// nesting is limited so a hostile file cannot overflow the stack; every error carries the byte
/// offset. Stricter than Foundation where it matters to a reader of sizes and offsets:
/// - an object naming a key twice is refused (which of the two values counts is undefined);
/// - numbers written with '.', 'e' or 'E' stay `.number`, never silently become integers, and an
///   integer that does not fit an Int is an error, not a trap or a rounded double;
/// - strings must be valid UTF-8 without raw control characters, escapes complete, surrogate
///   halves paired.
public enum StrictJSON {
    /// Deepest nesting of arrays and objects accepted.
    public static let maxDepth = 128

    public static func parse(_ bytes: UnsafeRawBufferPointer) throws -> JSONValue {
        var parser = Parser(bytes: bytes)
        parser.skipWhitespace()
        let value = try parser.value(depth: 0)
        parser.skipWhitespace()
        guard parser.position == bytes.count else { throw parser.error("unexpected bytes after the JSON value") }
        return value
    }

    public static func parse(_ bytes: [UInt8]) throws -> JSONValue {
        try bytes.withUnsafeBytes { try parse($0) }
    }

    public static func parse(_ text: String) throws -> JSONValue {
        var text = text
        return try text.withUTF8 { try parse(UnsafeRawBufferPointer($0)) }
    }
}

public struct StrictJSONError: Error, Sendable, Equatable, CustomStringConvertible {
    /// Byte offset in the parsed text where the problem was found.
    public let offset: Int
    public let reason: String
    /// The key an object named twice, so a caller can say what it means (a tensor named twice).
    public let duplicateKey: String?
    /// Nesting depth of the object holding `duplicateKey`: 1 for the top-level object.
    public let depth: Int

    public var description: String { "\(reason) at byte \(offset)" }
}

/// Bytes are written as hex literals (with the characters in a comment): `UInt8(ascii:)` is a
/// function call per byte in a debug build.
private struct Parser {
    let bytes: UnsafeRawBufferPointer
    var position = 0

    init(bytes: UnsafeRawBufferPointer) { self.bytes = bytes }

    func error(_ reason: String, at offset: Int? = nil) -> StrictJSONError {
        StrictJSONError(offset: offset ?? position, reason: reason, duplicateKey: nil, depth: 0)
    }

    var atEnd: Bool { position >= bytes.count }
    var current: UInt8 { bytes[position] }

    mutating func skipWhitespace() {
        while position < bytes.count {
            switch bytes[position] {
            case 0x20, 0x09, 0x0A, 0x0D: position += 1
            default: return
            }
        }
    }

    mutating func expect(_ byte: UInt8, _ what: String) throws {
        guard !atEnd else { throw error("the text ends where \(what) was expected") }
        guard current == byte else { throw error("expected \(what)") }
        position += 1
    }

    mutating func literal(_ word: StaticString, _ value: JSONValue) throws -> JSONValue {
        let count = word.utf8CodeUnitCount
        guard bytes.count - position >= count,
              (0..<count).allSatisfy({ bytes[position + $0] == word.utf8Start[$0] }) else {
            throw error("invalid literal (expected \(word))")
        }
        position += count
        return value
    }

    mutating func value(depth: Int) throws -> JSONValue {
        guard !atEnd else { throw error("the text ends where a value was expected") }
        switch current {
        case 0x7B: return try object(depth: depth + 1)   // {
        case 0x5B: return try array(depth: depth + 1)   // [
        case 0x22: return .string(try string())   // "
        case 0x74: return try literal("true", .bool(true))   // t
        case 0x66: return try literal("false", .bool(false))   // f
        case 0x6E: return try literal("null", .null)   // n
        case 0x2D, 0x30...0x39: return try number()   // - 0...9
        default: throw error("unexpected byte 0x\(String(current, radix: 16)) where a value was expected")
        }
    }

    mutating func object(depth: Int) throws -> JSONValue {
        guard depth <= StrictJSON.maxDepth else { throw error("nesting deeper than \(StrictJSON.maxDepth) levels") }
        let start = position
        position += 1   // '{'
        var object = JSONObject()
        skipWhitespace()
        if !atEnd, current == 0x7D { position += 1; return .object(object) }   // }
        while true {
            skipWhitespace()
            guard !atEnd, current == 0x22 else {   // "
                throw error(atEnd ? "the text ends inside an object" : "expected a string key in an object")
            }
            let keyOffset = position
            let key = try string()
            skipWhitespace()
            try expect(0x3A, "':' after an object key")   // :
            skipWhitespace()
            let member = try value(depth: depth)
            guard object.insert(key, member, expectedCount: {
                // As many members again for each stretch of text as long as the one read so far:
                // exact for a uniform header, and capped, so a skewed one cannot make it huge.
                let members = JSONObject.indexedFrom, read = max(1, position - start)
                return min(1 << 20, members * (bytes.count - start) / read)
            }) else {
                throw StrictJSONError(offset: keyOffset, reason: "key \"\(key)\" appears twice in one object",
                                      duplicateKey: key, depth: depth)
            }
            skipWhitespace()
            guard !atEnd else { throw error("the text ends inside an object") }
            if current == 0x2C { position += 1; continue }   // ,
            try expect(0x7D, "',' or '}' in an object")   // }
            return .object(object)
        }
    }

    mutating func array(depth: Int) throws -> JSONValue {
        guard depth <= StrictJSON.maxDepth else { throw error("nesting deeper than \(StrictJSON.maxDepth) levels") }
        position += 1   // '['
        var elements: [JSONValue] = []
        skipWhitespace()
        if !atEnd, current == 0x5D { position += 1; return .array(elements) }   // ]
        while true {
            skipWhitespace()
            elements.append(try value(depth: depth))
            skipWhitespace()
            guard !atEnd else { throw error("the text ends inside an array") }
            if current == 0x2C { position += 1; continue }   // ,
            try expect(0x5D, "',' or ']' in an array")   // ]
            return .array(elements)
        }
    }

    /// A string, from its opening quote. Plain ASCII runs are copied as they are; escapes and
    /// multi-byte characters go through a byte buffer, each validated once.
    mutating func string() throws -> String {
        let start = position
        position += 1   // '"'
        let runStart = position
        // Fast path: printable ASCII without escapes.
        while position < bytes.count {
            let byte = bytes[position]
            if byte == 0x22 {   // "
                position += 1
                return String(decoding: UnsafeRawBufferPointer(rebasing: bytes[runStart..<(position - 1)]), as: UTF8.self)
            }
            if byte == 0x5C || byte < 0x20 || byte >= 0x80 { break }   // \
            position += 1
        }
        var utf8: [UInt8] = Array(bytes[runStart..<position])
        while true {
            guard position < bytes.count else { throw error("the text ends inside a string", at: start) }
            let byte = bytes[position]
            switch byte {
            case 0x22:   // "
                position += 1
                return String(decoding: utf8, as: UTF8.self)
            case 0x5C:   // \
                try escape(into: &utf8)
            case 0..<0x20:
                throw error("raw control character 0x\(String(byte, radix: 16)) in a string (escape it)")
            case 0x80...:
                let length = try utf8Sequence()
                utf8.append(contentsOf: bytes[position..<(position + length)])
                position += length
            default:
                utf8.append(byte)
                position += 1
            }
        }
    }

    /// One escape sequence, from its backslash, appended as UTF-8.
    mutating func escape(into utf8: inout [UInt8]) throws {
        let start = position
        position += 1
        guard position < bytes.count else { throw error("the text ends inside an escape", at: start) }
        let letter = bytes[position]
        position += 1
        switch letter {
        case 0x22, 0x5C, 0x2F: utf8.append(letter)   // " \ /
        case 0x62: utf8.append(0x08)   // b
        case 0x66: utf8.append(0x0C)   // f
        case 0x6E: utf8.append(0x0A)   // n
        case 0x72: utf8.append(0x0D)   // r
        case 0x74: utf8.append(0x09)   // t
        case 0x75:   // u
            var scalar = try hex4(escapeAt: start)
            if (0xDC00...0xDFFF).contains(scalar) {
                throw error("unpaired low surrogate \\u\(String(scalar, radix: 16)) in a string", at: start)
            }
            if (0xD800...0xDBFF).contains(scalar) {
                guard bytes.count - position >= 6, bytes[position] == 0x5C,   // \
                      bytes[position + 1] == 0x75 else {   // u
                    throw error("high surrogate \\u\(String(scalar, radix: 16)) not followed by a low one", at: start)
                }
                position += 2
                let low = try hex4(escapeAt: position - 2)
                guard (0xDC00...0xDFFF).contains(low) else {
                    throw error("high surrogate \\u\(String(scalar, radix: 16)) not followed by a low one", at: start)
                }
                scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
            }
            utf8.append(contentsOf: Unicode.UTF8.encode(Unicode.Scalar(scalar)!)!)
        default:
            throw error("invalid escape \\\(Character(Unicode.Scalar(letter))) in a string", at: start)
        }
    }

    mutating func hex4(escapeAt start: Int) throws -> UInt32 {
        guard bytes.count - position >= 4 else { throw error("incomplete \\u escape", at: start) }
        var value: UInt32 = 0
        for _ in 0..<4 {
            let byte = bytes[position]
            let digit: UInt8
            switch byte {
            case 0x30...0x39: digit = byte - 0x30   // 0...9
            case 0x61...0x66: digit = byte - 0x61 + 10   // a...f
            case 0x41...0x46: digit = byte - 0x41 + 10   // A...F
            default: throw error("invalid hex digit in a \\u escape", at: start)
            }
            value = value << 4 | UInt32(digit)
            position += 1
        }
        return value
    }

    /// The length of the well-formed UTF-8 sequence at `position` (RFC 3629: no overlong forms,
    /// no surrogates, nothing past U+10FFFF), or an error.
    func utf8Sequence() throws -> Int {
        let lead = bytes[position]
        let length: Int
        var low: UInt8 = 0x80, high: UInt8 = 0xBF   // range of the second byte
        switch lead {
        case 0xC2...0xDF: length = 2
        case 0xE0: length = 3; low = 0xA0
        case 0xE1...0xEC, 0xEE...0xEF: length = 3
        case 0xED: length = 3; high = 0x9F
        case 0xF0: length = 4; low = 0x90
        case 0xF1...0xF3: length = 4
        case 0xF4: length = 4; high = 0x8F
        default: throw error("invalid UTF-8 byte 0x\(String(lead, radix: 16)) in a string")
        }
        guard bytes.count - position >= length else { throw error("truncated UTF-8 sequence in a string") }
        guard (low...high).contains(bytes[position + 1]),
              (2..<length).allSatisfy({ (0x80...0xBF).contains(bytes[position + $0]) }) else {
            throw error("invalid UTF-8 sequence in a string")
        }
        return length
    }

    /// A number: `-? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?`.
    mutating func number() throws -> JSONValue {
        let start = position
        var negative = false
        if current == 0x2D { negative = true; position += 1 }   // -
        func isDigit(_ b: UInt8) -> Bool { b >= 0x30 && b <= 0x39 }   // 0...9
        guard !atEnd, isDigit(current) else { throw error("expected a digit in a number", at: start) }
        // Integer part, accumulated negatively so that Int.min fits.
        var negated = 0
        var overflow = false
        if current == 0x30 {   // 0
            position += 1
            if !atEnd, isDigit(current) { throw error("leading zero in a number", at: start) }
        } else {
            while !atEnd, isDigit(current) {
                let (m, o1) = negated.multipliedReportingOverflow(by: 10)
                let (s, o2) = m.subtractingReportingOverflow(Int(current - 0x30))   // 0
                overflow = overflow || o1 || o2
                negated = s
                position += 1
            }
        }
        var isInteger = true
        if !atEnd, current == 0x2E {   // .
            isInteger = false
            position += 1
            guard !atEnd, isDigit(current) else { throw error("expected a digit after '.' in a number", at: start) }
            while !atEnd, isDigit(current) { position += 1 }
        }
        if !atEnd, current == 0x65 || current == 0x45 {   // e E
            isInteger = false
            position += 1
            if !atEnd, current == 0x2B || current == 0x2D { position += 1 }   // + -
            guard !atEnd, isDigit(current) else { throw error("expected a digit in a number's exponent", at: start) }
            while !atEnd, isDigit(current) { position += 1 }
        }
        if isInteger {
            if negative {
                guard !overflow else { throw error("integer below \(Int.min)", at: start) }
                return .integer(negated)
            }
            guard !overflow, negated != Int.min else { throw error("integer above \(Int.max)", at: start) }
            return .integer(-negated)
        }
        let text = String(decoding: UnsafeRawBufferPointer(rebasing: bytes[start..<position]), as: UTF8.self)
        guard let value = Double(text), value.isFinite else {
            throw error("number \(text) is out of range", at: start)
        }
        return .number(value)
    }
}
