/// The string grammar of StrictJSON's parser: escapes, \u sequences with their surrogate pairs,
/// and raw UTF-8 checked byte by byte (a JSON string is where a hostile header hides the most).
extension StrictJSONParser {
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
}
