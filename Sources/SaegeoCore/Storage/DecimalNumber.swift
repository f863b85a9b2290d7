/// The one reader of decimal numbers that people and tools write: command-line values, CSV
/// fields, id files, byte counts. Swift's `Int(_:)` and `Double(_:)` take more than a person
/// means (`+5`, `0x1p-3`, `nan`, `infinity`), and each reader that called them was lax in its own
/// way; every number saegeo reads from text goes through here instead, so they all accept exactly
///
///     -? [0-9]+ ( . [0-9]+ )? ( [eE] [+-]? [0-9]+ )?
///
/// No leading '+', no spaces, no hex, no "nan" or "inf" (a format that allows those spells them
/// out before it calls this), no "1." or ".5".
public enum DecimalNumber {
    /// Whether `text` is a decimal number in the grammar above; `integer`: without a fraction or
    /// an exponent.
    public static func isDecimal<S: StringProtocol>(_ text: S, integer: Bool = false) -> Bool {
        var bytes = text.utf8.makeIterator()
        var byte = bytes.next()
        func digits() -> Bool {
            var any = false
            while let b = byte, b >= 0x30, b <= 0x39 { any = true; byte = bytes.next() }   // 0...9
            return any
        }
        if byte == 0x2D { byte = bytes.next() }   // -
        guard digits() else { return false }
        if byte == 0x2E {   // .
            guard !integer else { return false }
            byte = bytes.next()
            guard digits() else { return false }
        }
        if byte == 0x65 || byte == 0x45 {   // e E
            guard !integer else { return false }
            byte = bytes.next()
            if byte == 0x2B || byte == 0x2D { byte = bytes.next() }   // + -
            guard digits() else { return false }
        }
        return byte == nil
    }

    /// An integer (no fraction, no exponent) that fits an Int; nil otherwise.
    public static func int<S: StringProtocol>(_ text: S) -> Int? {
        guard isDecimal(text, integer: true) else { return nil }
        return Int(String(text))
    }

    /// An integer of at least 0 written without a sign (so neither `+3` nor `-0`); nil otherwise.
    public static func nonNegativeInt<S: StringProtocol>(_ text: S) -> Int? {
        guard text.utf8.first != 0x2D else { return nil }   // -
        return int(text)
    }

    /// An unsigned 64-bit integer written without a sign; nil otherwise.
    public static func uint64<S: StringProtocol>(_ text: S) -> UInt64? {
        guard text.utf8.first != 0x2D, isDecimal(text, integer: true) else { return nil }   // -
        return UInt64(String(text))
    }

    /// A finite Double; nil when the text is not a decimal number or its value overflows.
    public static func double<S: StringProtocol>(_ text: S) -> Double? {
        guard isDecimal(text), let value = Double(String(text)), value.isFinite else { return nil }
        return value
    }

    /// Why `text` is not a number of the kind asked for, for a message: "too large" for a run of
    /// digits that does not fit, else what a number looks like.
    public static func problem<S: StringProtocol>(_ text: S, integer: Bool) -> String {
        if isDecimal(text, integer: integer) { return "too large" }
        if integer { return "not a whole decimal number (digits, optionally a leading '-')" }
        return "not a decimal number (like 12, -0.5 or 1e-3; no '+', hex, spaces, nan or inf)"
    }
}
