/// Bounds-checked little-endian reads from untrusted bytes: every read either fits inside the
/// buffer or throws an error that names the file and the byte range.
struct LittleEndianReader {
    let bytes: UnsafeRawBufferPointer
    let path: String

    func range(_ offset: Int, _ count: Int, _ what: String) throws -> Range<Int> {
        let (end, overflow) = offset.addingReportingOverflow(count)
        guard offset >= 0, count >= 0, !overflow, end <= bytes.count else {
            throw SaegeoError.badFile("\(path): \(what) at bytes \(offset)..<\(overflow ? Int.max : end) runs past the end of the file (\(bytes.count) bytes); the file is truncated or corrupt")
        }
        return offset..<end
    }

    func u16(_ offset: Int, _ what: String) throws -> Int {
        let r = try range(offset, 2, what)
        return Int(bytes[r.lowerBound]) | Int(bytes[r.lowerBound + 1]) << 8
    }

    func u32(_ offset: Int, _ what: String) throws -> Int {
        let r = try range(offset, 4, what)
        return (0..<4).reduce(0) { $0 | Int(bytes[r.lowerBound + $1]) << (8 * $1) }
    }

    /// A u64 that must also fit a (non-negative) Int.
    func u64(_ offset: Int, _ what: String) throws -> Int {
        let r = try range(offset, 8, what)
        let value = (0..<8).reduce(UInt64(0)) { $0 | UInt64(bytes[r.lowerBound + $1]) << (8 * UInt64($1)) }
        guard value <= UInt64(Int.max) else {
            throw SaegeoError.badFile("\(path): \(what) at byte \(offset) is \(value), too large to be a size or offset")
        }
        return Int(value)
    }
}

/// Multiplies sizes, failing instead of overflowing.
func checkedProduct(_ values: [Int]) -> Int? {
    var product = 1
    for v in values {
        guard v >= 0 else { return nil }
        let (p, overflow) = product.multipliedReportingOverflow(by: v)
        if overflow { return nil }
        product = p
    }
    return product
}
