import Foundation
import Testing
@testable import SaegeoCore

/// The strict JSON reader that every untrusted header, manifest and score line goes through:
/// values keep their order and exact integers, a key named twice is refused with its depth,
/// malformed text, bad escapes, bad UTF-8 and out-of-range numbers are refused, and nesting is
/// limited so deep input cannot overflow the stack.
struct StrictJSONTests {
    @Test("strict JSON: values, order, escapes, exact integers")
    func jsonValues() throws {
        let text = #"{"b": [1, -0, 64.0, 1e2, -2.5E-3, true, false, null], "a": "x\"\\\/\b\f\n\r\t\u00e9\ud83d\ude00é", "min": -9223372036854775808, "max": 9223372036854775807}"#
        let value = try StrictJSON.parse(text)
        let object = try #require(value.objectValue)
        #expect(object.keys == ["b", "a", "min", "max"])
        #expect(object["a"]?.stringValue == "x\"\\/\u{08}\u{0C}\n\r\té😀é")
        #expect(object["min"]?.intValue == Int.min && object["max"]?.intValue == Int.max)
        let list = try #require(object["b"]?.arrayValue)
        #expect(list == [.integer(1), .integer(0), .number(64), .number(100), .number(-0.0025), .bool(true), .bool(false), .null])
        // 64.0 is a number, not an integer, though it has an integer's value.
        #expect(list[2].intValue == nil && list[2].doubleValue == 64)
        #expect(try StrictJSON.parse(" \t\r\n[]\n") == .array([]))
        #expect(try StrictJSON.parse("{}") == .object(JSONObject()))
    }

    @Test("strict JSON: a key named twice is refused, naming the key and its depth")
    func jsonDuplicates() throws {
        do {
            _ = try StrictJSON.parse(#"{"a": 1, "b": 2, "a": 3}"#)
            Issue.record("duplicate key accepted")
        } catch let error as StrictJSONError {
            #expect(error.duplicateKey == "a" && error.depth == 1 && error.offset == 17, "\(error)")
        }
        do {
            _ = try StrictJSON.parse(#"{"t": {"dtype": "F32", "dtype": "F16"}}"#)
            Issue.record("nested duplicate key accepted")
        } catch let error as StrictJSONError {
            #expect(error.duplicateKey == "dtype" && error.depth == 2, "\(error)")
        }
        // Equal after unescaping is the same key.
        #expect(throws: StrictJSONError.self) { try StrictJSON.parse(#"{"a": 1, "\u0061": 2}"#) }
    }

    @Test("strict JSON: malformed text, bad escapes, bad UTF-8 and out-of-range numbers are refused")
    func jsonRefusals() throws {
        let texts = [
            "", " ", "{", "[1,]", "{\"a\":1,}", "[1 2]", "{\"a\" 1}", "{a:1}", "[1]x", "[1][2]", "'a'",
            "01", "-", "1.", ".5", "+1", "1e", "1e+", "NaN", "Infinity", "-Infinity", "0x10", "tru", "nul",
            "[1] // comment", "\"abc",
            #""\x""#, #""\u12""#, #""\u12G4""#, #""\ud800""#, #""\udc00""#, #""\ud800\u0041""#, #""\ud800x""#,
            "\"tab\there\"", "\"line\nbreak\"",
            "9223372036854775808", "-9223372036854775809", "123456789012345678901234567890", "1e999", "-1e400",
        ]
        for text in texts {
            #expect(throws: StrictJSONError.self, "\(text.debugDescription)") { try StrictJSON.parse(text) }
        }
        let badUTF8: [[UInt8]] = [
            [0x22, 0xC0, 0x80, 0x22],               // overlong NUL
            [0x22, 0xED, 0xA0, 0x80, 0x22],         // encoded surrogate
            [0x22, 0xFF, 0x22],                     // never valid
            [0x22, 0xE2, 0x82, 0x22],               // truncated sequence
            [0x22, 0xF4, 0x90, 0x80, 0x80, 0x22],   // past U+10FFFF
            [0x22, 0x80, 0x22],                     // lone continuation byte
            [0xEF, 0xBB, 0xBF, 0x7B, 0x7D],         // byte order mark
        ]
        for bytes in badUTF8 {
            #expect(throws: StrictJSONError.self, "\(bytes)") { try StrictJSON.parse(bytes) }
        }
        #expect(try StrictJSON.parse([0x22, 0xE2, 0x82, 0xAC, 0x22]) == .string("€"))
    }

    @Test("strict JSON: nesting is limited, so deep input cannot overflow the stack")
    func jsonDepth() throws {
        let limit = StrictJSON.maxDepth
        #expect(try StrictJSON.parse(String(repeating: "[", count: limit) + String(repeating: "]", count: limit)) != .null)
        #expect(throws: StrictJSONError.self) {
            try StrictJSON.parse(String(repeating: "[", count: limit + 1) + String(repeating: "]", count: limit + 1))
        }
        #expect(throws: StrictJSONError.self) { try StrictJSON.parse(String(repeating: "{\"a\":", count: 1_000_000)) }
        #expect(throws: StrictJSONError.self) { try StrictJSON.parse(String(repeating: "[", count: 1_000_000)) }
    }
}
