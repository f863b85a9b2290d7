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
    /// Pieces of a file checksummed by one core at a time (their CRCs are combined in order).
    static let filePiece = 8 << 20
    /// The bytes a core reads at once: small, so that the pass adds next to nothing to the
    /// process's peak memory.
    static let fileRead = 1 << 20

    /// The CRC-32 of a whole open file's `size` bytes: pieces read on all cores, their CRCs
    /// combined in order (zlib's crc32_combine), so the value is that of one pass over the bytes
    /// at a fraction of its time (zlib's CRC-32 runs at about 2 GB/s a core).
    static func ofFile(_ descriptor: Int32, size: Int, path: String) throws -> Checksum {
        let pieces = (size + filePiece - 1) / filePiece
        let crcs = Locked([UInt32](repeating: 0, count: pieces))
        let failure = Locked<SaegeoError?>(nil)
        let next = Locked(0)
        let cores = min(pieces, ProcessInfo.processInfo.activeProcessorCount)
        DispatchQueue.concurrentPerform(iterations: max(cores, 1)) { _ in
            let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: fileRead, alignment: 64)
            defer { buffer.deallocate() }
            while failure.current == nil {
                let piece = next.withLock { value in defer { value += 1 }; return value }
                guard piece < pieces else { return }
                var sum = Checksum()
                var offset = piece * filePiece
                let end = min(size, offset + filePiece)
                while offset < end {
                    let n = pread(descriptor, buffer.baseAddress!, min(fileRead, end - offset), off_t(offset))
                    if n < 0, errno == EINTR { continue }
                    guard n > 0 else {
                        let reason = n < 0 ? systemError() : "it became shorter while saegeo was reading it"
                        failure.withLock { $0 = $0 ?? SaegeoError.io("cannot read \(path): \(reason); leave the inputs of a running job alone and run it again") }
                        return
                    }
                    sum.add(UnsafeRawBufferPointer(start: buffer.baseAddress, count: n))
                    offset += n
                }
                crcs.withLock { $0[piece] = sum.value }
            }
        }
        if let error = failure.current { throw error }
        var whole = Checksum()
        for (piece, crc) in crcs.current.enumerated() {
            let length = min(filePiece, size - piece * filePiece)
            whole.value = UInt32(crc32_combine(uLong(whole.value), uLong(crc), off_t(length)))
        }
        return whole
    }
}
