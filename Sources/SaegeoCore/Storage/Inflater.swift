import CZlib
import Foundation

/// The one place saegeo calls zlib: raw DEFLATE streams (zip method 8) inflated in chunks, so
/// a member of many gigabytes never sits whole in memory.
struct Inflater {
    let name: String

    /// Inflates `compressed`, handing each piece of output to `sink`; stops early once `sink`
    /// returns false. Returns the CRC-32 and size of what was produced.
    @discardableResult
    func inflate(_ compressed: UnsafeRawBufferPointer,
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
            // zlib counts in UInt32: feed the input in pieces below 4 GiB.
            if stream.avail_in == 0, consumed < compressed.count {
                let piece = min(compressed.count - consumed, 1 << 30)
                stream.next_in = UnsafeMutablePointer(mutating: compressed.baseAddress!.assumingMemoryBound(to: UInt8.self) + consumed)
                stream.avail_in = UInt32(piece)
                consumed += piece
            }
            stream.next_out = output
            stream.avail_out = UInt32(chunk)
            status = CZlib.inflate(&stream, Z_NO_FLUSH)
            guard status == Z_OK || status == Z_STREAM_END else {
                let reason = stream.msg.map { String(cString: $0) } ?? "status \(status)"
                throw SaegeoError.badFile("\(name): compressed data is corrupt (\(reason)); re-create the archive")
            }
            let count = chunk - Int(stream.avail_out)
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
}
