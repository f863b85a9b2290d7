import CZlib
import Foundation
@testable import SaegeoCore

/// Writes checkpoint files byte by byte, independently of saegeo's readers and writers: safetensors,
/// .npy, and zip archives (.npz) stored or deflated with the ZIP64 extra fields numpy writes.
enum CheckpointBytes {
    struct Tensor {
        let name: String
        let dtype: String
        let shape: [Int]
        let bytes: [UInt8]
    }

    // MARK: element encodings

    static func encode(_ values: [Float], as dtype: String) -> [UInt8] {
        var out: [UInt8] = []
        for v in values {
            switch dtype {
            case "F32": out += withUnsafeBytes(of: v.bitPattern.littleEndian, Array.init)
            case "F16": out += withUnsafeBytes(of: Float16(v).bitPattern.littleEndian, Array.init)
            case "BF16":
                // Round to nearest even on the upper 16 bits.
                let bits = v.bitPattern
                let rounded = (bits &+ 0x7FFF &+ ((bits >> 16) & 1)) >> 16
                out += withUnsafeBytes(of: UInt16(rounded).littleEndian, Array.init)
            default: fatalError("dtype \(dtype)")
            }
        }
        return out
    }

    /// The float32 values the encoded bytes mean.
    static func decode(_ bytes: [UInt8], as dtype: String) -> [Float] {
        switch dtype {
        case "F32": return stride(from: 0, to: bytes.count, by: 4).map {
            Float(bitPattern: UInt32(bytes[$0]) | UInt32(bytes[$0 + 1]) << 8 | UInt32(bytes[$0 + 2]) << 16 | UInt32(bytes[$0 + 3]) << 24) }
        case "F16": return stride(from: 0, to: bytes.count, by: 2).map {
            Float(Float16(bitPattern: UInt16(bytes[$0]) | UInt16(bytes[$0 + 1]) << 8)) }
        case "BF16": return stride(from: 0, to: bytes.count, by: 2).map {
            Float(bitPattern: (UInt32(bytes[$0]) | UInt32(bytes[$0 + 1]) << 8) << 16) }
        default: fatalError("dtype \(dtype)")
        }
    }

    static func transpose(_ values: [Float], rows: Int, columns: Int) -> [Float] {
        (0..<(rows * columns)).map { i in values[(i % rows) * columns + i / rows] }
    }

    // MARK: safetensors

    static func safetensors(_ tensors: [Tensor], metadata: [String: String] = [:]) -> [UInt8] {
        var entries: [String] = []
        var offset = 0
        for t in tensors {
            entries.append("\"\(t.name)\":{\"dtype\":\"\(t.dtype)\",\"shape\":[\(t.shape.map(String.init).joined(separator: ","))],\"data_offsets\":[\(offset),\(offset + t.bytes.count)]}")
            offset += t.bytes.count
        }
        if !metadata.isEmpty {
            entries.append("\"__metadata__\":{" + metadata.map { "\"\($0)\":\"\($1)\"" }.joined(separator: ",") + "}")
        }
        return safetensors(header: "{" + entries.joined(separator: ",") + "}", data: tensors.flatMap(\.bytes))
    }

    static func safetensors(header: String, data: [UInt8], declaredLength: UInt64? = nil) -> [UInt8] {
        var headerBytes = Array(header.utf8)
        while headerBytes.count % 8 != 0 { headerBytes.append(0x20) }
        let length = declaredLength ?? UInt64(headerBytes.count)
        return withUnsafeBytes(of: length.littleEndian, Array.init) + headerBytes + data
    }

    // MARK: npy

    static func npy(descr: String, shape: [Int], payload: [UInt8], fortran: Bool = false) -> [UInt8] {
        let shapeText = shape.count == 1 ? "(\(shape[0]),)" : "(" + shape.map(String.init).joined(separator: ", ") + ")"
        var header = "{'descr': '\(descr)', 'fortran_order': \(fortran ? "True" : "False"), 'shape': \(shapeText), }"
        header += String(repeating: " ", count: (64 - (11 + header.utf8.count) % 64) % 64) + "\n"
        return [0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59, 1, 0, UInt8(header.utf8.count & 0xFF), UInt8(header.utf8.count >> 8)]
            + Array(header.utf8) + payload
    }

    // MARK: zip

    static func crc(_ bytes: [UInt8]) -> UInt32 {
        UInt32(bytes.withUnsafeBufferPointer { crc32(0, $0.baseAddress, UInt32($0.count)) })
    }

    static func rawDeflate(_ bytes: [UInt8]) -> [UInt8] {
        var stream = z_stream()
        deflateInit2_(&stream, 6, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size))
        var input = bytes
        var output = [UInt8](repeating: 0, count: Int(deflateBound(&stream, UInt(bytes.count))) + 64)
        let produced = input.withUnsafeMutableBufferPointer { inp in
            output.withUnsafeMutableBufferPointer { out in
                stream.next_in = inp.baseAddress
                stream.avail_in = UInt32(inp.count)
                stream.next_out = out.baseAddress
                stream.avail_out = UInt32(out.count)
                deflate(&stream, Z_FINISH)
                return out.count - Int(stream.avail_out)
            }
        }
        deflateEnd(&stream)
        return Array(output.prefix(produced))
    }

    /// A zip archive as numpy writes it (force_zip64): local and central headers with 0xFFFFFFFF
    /// sizes and ZIP64 extra fields, and a ZIP64 end-of-central-directory record.
    static func zip(_ members: [(name: String, data: [UInt8])], deflate: Bool) -> [UInt8] {
        func u16(_ v: Int) -> [UInt8] { [UInt8(v & 0xFF), UInt8((v >> 8) & 0xFF)] }
        func u32(_ v: Int) -> [UInt8] { (0..<4).map { UInt8((v >> (8 * $0)) & 0xFF) } }
        func u64(_ v: Int) -> [UInt8] { (0..<8).map { UInt8((v >> (8 * $0)) & 0xFF) } }
        var out: [UInt8] = []
        var central: [UInt8] = []
        for member in members {
            let stored = deflate ? rawDeflate(member.data) : member.data
            let method = deflate ? 8 : 0
            let crc = Int(crc(member.data))
            let name = Array(member.name.utf8)
            let offset = out.count
            let localExtra = u16(1) + u16(16) + u64(member.data.count) + u64(stored.count)
            out += u32(0x0403_4B50) + u16(45) + u16(0) + u16(method) + u16(0) + u16(0x21) + u32(crc)
                + u32(0xFFFF_FFFF) + u32(0xFFFF_FFFF) + u16(name.count) + u16(localExtra.count) + name + localExtra + stored
            let centralExtra = u16(1) + u16(24) + u64(member.data.count) + u64(stored.count) + u64(offset)
            central += u32(0x0201_4B50) + u16(45) + u16(45) + u16(0) + u16(method) + u16(0) + u16(0x21) + u32(crc)
                + u32(0xFFFF_FFFF) + u32(0xFFFF_FFFF) + u16(name.count) + u16(centralExtra.count) + u16(0) + u16(0)
                + u16(0) + u32(0) + u32(0xFFFF_FFFF) + name + centralExtra
        }
        let centralOffset = out.count
        out += central
        let record = out.count
        out += u32(0x0606_4B50) + u64(44) + u16(45) + u16(45) + u32(0) + u32(0)
            + u64(members.count) + u64(members.count) + u64(central.count) + u64(centralOffset)
        out += u32(0x0706_4B50) + u32(0) + u64(record) + u32(1)
        out += u32(0x0605_4B50) + u16(0) + u16(0) + u16(0xFFFF) + u16(0xFFFF) + u32(0xFFFF_FFFF) + u32(0xFFFF_FFFF) + u16(0)
        return out
    }

    static func write(_ bytes: [UInt8], to path: String) throws {
        try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent,
                                                withIntermediateDirectories: true)
        try Data(bytes).write(to: URL(fileURLWithPath: path))
    }
}
