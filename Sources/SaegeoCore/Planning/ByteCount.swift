import Foundation

/// Byte counts as people write them: `4096`, `512KiB`, `4MiB`, `1.5GiB`, `2TiB` (also KB/MB/GB
/// as powers of 1000, and K/M/G as powers of 1024).
public enum ByteCount {
    /// The units, longest suffix first; a count without one is in bytes.
    static let units: [(suffix: String, factor: Int128)] = [
        ("TiB", 1 << 40), ("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10),
        ("TB", 1_000_000_000_000), ("GB", 1_000_000_000), ("MB", 1_000_000), ("KB", 1_000),
        ("T", 1 << 40), ("G", 1 << 30), ("M", 1 << 20), ("K", 1 << 10), ("B", 1),
    ]

    /// The most any count may be: 2^62 bytes, beyond any device and safe to add and double.
    static let limit: Int128 = 1 << 62

    /// A positive whole number of bytes. The number is a strict decimal (DecimalNumber: no '+',
    /// hex or spaces around it) and is computed exactly, not through a Double, so that `0.5B`
    /// (half a byte) or `1.0000001KiB` is refused rather than rounded down, and a count of 30
    /// digits is "too large" rather than "not a byte count".
    public static func parse(_ text: String) throws -> Int {
        var number = Substring(text), factor: Int128 = 1, unit = "B"
        for (suffix, scale) in units where text.hasSuffix(suffix) {
            number = text.dropLast(suffix.count)
            if number.last == " " { number = number.dropLast() }   // "4 MiB" as people write it
            factor = scale
            unit = suffix
            break
        }
        let example = "write e.g. 4096, 512KiB, 4MiB or 1.5GiB"
        guard DecimalNumber.isDecimal(number), number.first != "-" else {
            throw SaegeoError(.usage, "'\(text)' is not a byte count; \(example)")
        }
        // The number as digits x 10^exponent, exactly.
        let parts = number.split(separator: "e", maxSplits: 1, omittingEmptySubsequences: false)
            .flatMap { $0.split(separator: "E", maxSplits: 1, omittingEmptySubsequences: false) }
        let mantissa = parts[0].split(separator: ".", omittingEmptySubsequences: false)
        var digits = Substring(mantissa.joined()).drop { $0 == "0" }
        var exponent = -(mantissa.count > 1 ? mantissa[1].count : 0)
        if parts.count > 1 {
            // A huge exponent is too large (or, negative, makes the count a fraction) either way.
            guard let e = Int(parts[1]), abs(e) < 1_000 else {
                throw SaegeoError(.usage, "'\(text)' is \(parts[1].hasPrefix("-") ? "not a whole number of bytes" : "too large a byte count (the most is 4 EiB)"); \(example)")
            }
            exponent += e
        }
        while exponent < 0, digits.last == "0" { digits = digits.dropLast(); exponent += 1 }
        guard !digits.isEmpty else { throw SaegeoError(.usage, "'\(text)' is zero bytes; give a positive byte count, \(example)") }
        // Digits before the point beyond 20 are beyond 2^62 bytes whatever the unit.
        guard digits.count + exponent <= 20 else {
            throw SaegeoError(.usage, "'\(text)' is too large a byte count (the most is 4 EiB); \(example)")
        }
        let fraction = "'\(text)' is not a whole number of bytes; give a count of \(unit == "B" ? "bytes" : unit) that is, or a smaller unit (\(example))"
        // Past 36 digits the last one (not 0) lies below any unit's byte: a fraction of a byte.
        guard digits.count <= 36, -exponent <= 36, var value = Int128(String(digits)) else { throw SaegeoError(.usage, fraction) }
        // Only a fraction of many digits can overflow here (a whole count has at most 20).
        for scale in [factor] + Array(repeating: 10, count: max(exponent, 0)) {
            let (product, overflow) = value.multipliedReportingOverflow(by: scale)
            guard !overflow else { throw SaegeoError(.usage, fraction) }
            value = product
        }
        var divisor: Int128 = 1
        for _ in 0..<max(-exponent, 0) { divisor *= 10 }
        guard value % divisor == 0 else { throw SaegeoError(.usage, fraction) }
        value /= divisor
        guard value <= limit else {
            throw SaegeoError(.usage, "'\(text)' is too large a byte count (the most is 4 EiB); \(example)")
        }
        return Int(value)
    }

    public static func format(_ bytes: Int) -> String {
        let b = Double(bytes)
        if b >= 0x1p30 { return String(format: "%.2f GiB", b / 0x1p30) }
        if b >= 0x1p20 { return String(format: "%.1f MiB", b / 0x1p20) }
        if b >= 0x1p10 { return String(format: "%.1f KiB", b / 0x1p10) }
        return "\(bytes) B"
    }
}
