import CZlib
import Foundation

/// CRC-32 (zlib's) over a job's bytes: what checkpoint blocks and shards carry so that a flipped
/// byte, a truncated file or an edited label is found before the data is trusted.
public struct Checksum: Sendable, Equatable, CustomStringConvertible {
    public private(set) var value: UInt32 = 0

    public init() {}

    public mutating func add(_ bytes: UnsafeRawBufferPointer) {
        guard var base = bytes.baseAddress?.assumingMemoryBound(to: UInt8.self) else { return }
        var left = bytes.count
        // zlib counts in UInt32: feed pieces below 4 GiB.
        while left > 0 {
            let piece = min(left, 1 << 30)
            value = UInt32(crc32(uLong(value), base, uInt(piece)))
            base += piece
            left -= piece
        }
    }

    public mutating func add(_ data: Data) { data.withUnsafeBytes { add($0) } }
    public mutating func add(_ text: String) { add(Data(text.utf8)) }

    public var description: String { String(format: "crc32:%08x", value) }
}
