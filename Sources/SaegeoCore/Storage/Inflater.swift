import CZlib
import Foundation

/// The one place saegeo calls zlib: raw DEFLATE streams (zip method 8) inflated in chunks, so
/// a member of many gigabytes never sits whole in memory, and CRC-32 of stored bytes.
struct Inflater {
    let name: String

    /// What to do when the stream holds more than `limit` bytes.
    enum Limit {
        /// A prefix is wanted: stop after exactly `limit` bytes.
        case stop
        /// The stream must not exceed `limit` (the size the archive declares): throw as soon as it
        /// does, before the excess reaches the sink, so a zip bomb costs at most `limit` bytes.
        case refuse
    }

    /// Inflates `compressed`, handing each piece of output to `sink`, never more than `limit`
    /// bytes in all; stops early once `sink` returns false. Returns the CRC-32 and size of what
    /// was handed over.
    @discardableResult
    func inflate(_ compressed: UnsafeRawBufferPointer, limit: Int, beyond: Limit,
                 sink: (UnsafeRawBufferPointer) throws -> Bool) throws -> (crc: UInt32, size: Int) {
        var stream = z_stream()
        var status = inflateInit2_(&stream, -MAX_WBITS, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size))
        guard status == Z_OK else { throw SaegeoError.io("\(name): zlib could not start inflating (status \(status))") }
        defer { inflateEnd(&stream) }
        let chunk = 1 << 20
        let output = UnsafeMutablePointer<UInt8>.allocate(capacity: chunk)
        defer { output.deallocate() }
        var crc = crc32(0, nil, 0)
        var produced = 0
        var consumed = 0
        repeat {
            let remaining = limit - produced
            if remaining == 0, beyond == .stop { break }
            // zlib counts in UInt32: feed the input in pieces below 4 GiB.
            if stream.avail_in == 0, consumed < compressed.count {
                let piece = min(compressed.count - consumed, 1 << 30)
                stream.next_in = UnsafeMutablePointer(mutating: compressed.baseAddress!.assumingMemoryBound(to: UInt8.self) + consumed)
                stream.avail_in = UInt32(piece)
                consumed += piece
            }
            // Room for one byte past the limit when refusing, so that a longer stream shows itself.
            let room = min(chunk, beyond == .stop ? remaining : remaining + 1)
            stream.next_out = output
            stream.avail_out = UInt32(room)
            status = CZlib.inflate(&stream, Z_NO_FLUSH)
            let count = room - Int(stream.avail_out)
            if status == Z_BUF_ERROR, count == 0, stream.avail_in == 0, consumed == compressed.count {
                throw SaegeoError.badFile("\(name): compressed data ends early; the archive is truncated")
            }
            guard status == Z_OK || status == Z_STREAM_END else {
                let reason = stream.msg.map { String(cString: $0) } ?? "status \(status)"
                throw SaegeoError.badFile("\(name): compressed data is corrupt (\(reason)); re-create the archive")
            }
            guard count <= remaining else {
                throw SaegeoError.badFile("\(name) inflates to more than the \(limit) bytes the archive declares; the archive is corrupt or a decompression bomb, refusing it")
            }
            if count > 0 {
                crc = crc32(crc, output, UInt32(count))
                produced += count
                guard try sink(UnsafeRawBufferPointer(start: output, count: count)) else { return (UInt32(crc), produced) }
            }
            if status == Z_OK, count == 0, stream.avail_in == 0, consumed == compressed.count {
                throw SaegeoError.badFile("\(name): compressed data ends early; the archive is truncated")
            }
        } while status != Z_STREAM_END
        return (UInt32(crc), produced)
    }

    /// CRC-32 of bytes in place, on every core: each core takes pieces of 64 MiB in turn and
    /// zlib's crc32_combine joins their CRCs in order (a stored member of several GB is checked
    /// at the speed of all cores, not one). `done` is called after each piece (to let its pages
    /// go), from the core that read it.
    static func crc(of bytes: UnsafeRawBufferPointer, done: @Sendable (Range<Int>) -> Void = { _ in }) -> UInt32 {
        guard let base = bytes.baseAddress, bytes.count > 0 else { return UInt32(crc32(0, nil, 0)) }
        let start = UnsafeSendablePointer(base.assumingMemoryBound(to: UInt8.self))
        // The closure never throws.
        return (try? Checksum.inPieces(count: bytes.count, piece: 64 << 20) { range in
            var sum = Checksum()
            sum.add(UnsafeRawBufferPointer(start: start.pointer + range.lowerBound, count: range.count))
            done(range)
            return sum.value
        })?.value ?? 0
    }
}
