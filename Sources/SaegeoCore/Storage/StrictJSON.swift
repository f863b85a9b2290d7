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
        var parser = StrictJSONParser(bytes: bytes)
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
/// Internal (not private) only so that its string reading can live in StrictJSON+Strings.swift.
struct StrictJSONParser {
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
