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

extension Checksum {
    /// The CRC-32 of `count` bytes checksummed as pieces of `piece` bytes on all cores: each core
    /// takes the next piece, `crcOfPiece` gives that piece's own CRC, and zlib's crc32_combine
    /// joins them in order, so the value is that of one pass over the bytes at a fraction of its
    /// time (zlib's CRC-32 runs at about 2 GB/s a core). The first error thrown stops the rest.
    static func inPieces(count: Int, piece: Int,
                         _ crcOfPiece: @Sendable (Range<Int>) throws -> UInt32) throws -> Checksum {
        let pieces = (count + piece - 1) / piece
        let crcs = Locked([UInt32](repeating: 0, count: pieces))
        let failure = Locked<Error?>(nil)
        let next = Locked(0)
        DispatchQueue.concurrentPerform(iterations: max(1, min(pieces, ProcessInfo.processInfo.activeProcessorCount))) { _ in
            while failure.current == nil {
                let p = next.withLock { value in defer { value += 1 }; return value }
                guard p < pieces else { return }
                do {
                    let crc = try crcOfPiece((p * piece)..<min(count, (p + 1) * piece))
                    crcs.withLock { $0[p] = crc }
                } catch {
                    failure.withLock { $0 = $0 ?? error }
                }
            }
        }
        if let error = failure.current { throw error }
        var whole = Checksum()
        for (p, crc) in crcs.current.enumerated() {
            whole.value = UInt32(crc32_combine(uLong(whole.value), uLong(crc), off_t(min(piece, count - p * piece))))
        }
        return whole
    }

    /// Pieces of a file checksummed by one core at a time.
    static let filePiece = 8 << 20
    /// The bytes a core reads at once: small, so that the pass adds next to nothing to the
    /// process's peak memory.
    static let fileRead = 1 << 20

    /// The CRC-32 of a whole open file's `size` bytes, read with pread on all cores (nothing
    /// mapped: a file truncated meanwhile is an error, not a fault).
    static func ofFile(_ descriptor: Int32, size: Int, path: String) throws -> Checksum {
        try inPieces(count: size, piece: filePiece) { range in
            let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: fileRead, alignment: 64)
            defer { buffer.deallocate() }
            var sum = Checksum()
            var offset = range.lowerBound
            while offset < range.upperBound {
                let n = pread(descriptor, buffer.baseAddress!, min(fileRead, range.upperBound - offset), off_t(offset))
                if n < 0, errno == EINTR { continue }
                guard n > 0 else {
                    let number: Int32? = n < 0 ? errno : nil
                    let reason = number.map { systemError($0) } ?? "it became shorter while saegeo was reading it"
                    throw SaegeoError.io("cannot read \(path): \(reason); leave the inputs of a running job alone and run it again", errno: number)
                }
                sum.add(UnsafeRawBufferPointer(start: buffer.baseAddress, count: n))
                offset += n
            }
            return sum.value
        }
    }
}
