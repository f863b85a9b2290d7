/// Byte counts as people write them: `4096`, `512KiB`, `4MiB`, `1.5GiB`, `2TiB` (also KB/MB/GB
/// as powers of 1000, and K/M/G as powers of 1024).
public enum ByteCount {
    public static func parse(_ text: String) throws -> Int {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        let units: [(String, Double)] = [
            ("TiB", 0x1p40), ("GiB", 0x1p30), ("MiB", 0x1p20), ("KiB", 0x1p10),
            ("TB", 1e12), ("GB", 1e9), ("MB", 1e6), ("KB", 1e3),
            ("T", 0x1p40), ("G", 0x1p30), ("M", 0x1p20), ("K", 0x1p10), ("B", 1),
        ]
        var number = Substring(trimmed), scale = 1.0
        for (suffix, factor) in units where trimmed.hasSuffix(suffix) {
            number = trimmed.dropLast(suffix.count)
            scale = factor
            break
        }
        guard let value = Double(number.trimmingCharacters(in: .whitespaces)), value > 0, value.isFinite,
              value * scale < 0x1p62 else {
            throw SaegeoError(.usage, "'\(text)' is not a byte count; write e.g. 4096, 512KiB, 4MiB or 1.5GiB")
        }
        return Int(value * scale)
    }

    public static func format(_ bytes: Int) -> String {
        let b = Double(bytes)
        if b >= 0x1p30 { return String(format: "%.2f GiB", b / 0x1p30) }
        if b >= 0x1p20 { return String(format: "%.1f MiB", b / 0x1p20) }
        if b >= 0x1p10 { return String(format: "%.1f KiB", b / 0x1p10) }
        return "\(bytes) B"
    }
}

import Foundation
