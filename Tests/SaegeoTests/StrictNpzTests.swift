import Foundation
import Testing
@testable import SaegeoCore

/// npz members read strictly: a member that inflates past its declared size is refused without
/// writing more than that size, a stored member with a wrong CRC-32 is refused when its data is
/// read, and a deflated member is inflated into a file that has no name.
struct StrictNpzTests {
    static func npyMember(_ values: [Float]) -> [UInt8] {
        CheckpointBytes.npy(descr: "<f4", shape: [values.count], payload: CheckpointBytes.encode(values, as: "F32"))
    }

    /// A fresh, empty folder to inflate into.
    static func scratchFolder(_ name: String) throws -> String {
        let folder = TestFiles.path("\(name)-\(UUID().uuidString)")
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        return folder
    }

    static func replace(_ bytes: inout [UInt8], _ pattern: [UInt8], with replacement: [UInt8]) -> Int {
        var replaced = 0
        var i = 0
        while i + pattern.count <= bytes.count {
            if Array(bytes[i..<(i + pattern.count)]) == pattern {
                bytes.replaceSubrange(i..<(i + pattern.count), with: replacement)
                replaced += 1
                i += pattern.count
            } else {
                i += 1
            }
        }
        return replaced
    }

    static func u64(_ v: Int) -> [UInt8] { (0..<8).map { UInt8((v >> (8 * $0)) & 0xFF) } }

    @Test("npz: a member that inflates past its declared size is refused without writing more than that size")
    func npzBomb() throws {
        // A valid .npy of 512 floats (2176 bytes) followed by 16 MiB of zeros that the archive does
        // not declare: deflated, it is about 16 KB.
        let declared = Self.npyMember([Float](repeating: 1, count: 512))
        #expect(declared.count == 2176)
        let real = declared + [UInt8](repeating: 0, count: 16 << 20)
        var archive = CheckpointBytes.zip([("W_dec.npy", real)], deflate: true)
        // ZIP64 extra fields (local: tag 1, 16 bytes; central: tag 1, 24 bytes) start with the
        // uncompressed size: make them declare 2176.
        #expect(Self.replace(&archive, [1, 0, 16, 0] + Self.u64(real.count), with: [1, 0, 16, 0] + Self.u64(2176)) == 1)
        #expect(Self.replace(&archive, [1, 0, 24, 0] + Self.u64(real.count), with: [1, 0, 24, 0] + Self.u64(2176)) == 1)
        let path = TestFiles.path("bomb.npz")
        try CheckpointBytes.write(archive, to: path)

        let member = try #require(try NpzArchive(path: path).member("W_dec"))
        #expect(try member.tensor().shape == [512])   // the header alone is fine
        let folder = try Self.scratchFolder("bomb-tmp")
        do {
            _ = try member.data(temporaryFolder: folder)
            Issue.record("the bomb was inflated")
        } catch let error as SaegeoError {
            #expect(error.kind == .badFile && error.message.contains("W_dec.npy") && error.message.contains("more than the 2176 bytes"), "\(error)")
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder) == [])

        // The inflater itself hands over at most the limit, refusing or stopping there.
        let compressed = CheckpointBytes.rawDeflate(real)
        var handed = 0
        #expect(throws: SaegeoError.self) {
            try compressed.withUnsafeBytes { bytes in
                try Inflater(name: "bomb").inflate(bytes, limit: 2176, beyond: .refuse) { handed += $0.count; return true }
            }
        }
        #expect(handed <= 2176)
        var prefix: [UInt8] = []
        let result = try compressed.withUnsafeBytes { bytes in
            try Inflater(name: "bomb").inflate(bytes, limit: 100, beyond: .stop) { prefix += $0; return true }
        }
        #expect(prefix == Array(real.prefix(100)) && result.size == 100)
    }

    @Test("npz: a stored member with a wrong CRC-32 is refused when its data is read, not when inspected")
    func npzStoredCRC() throws {
        let values = (0..<24).map { Float($0) - 3 }
        let npy = CheckpointBytes.npy(descr: "<f4", shape: [6, 4], payload: CheckpointBytes.encode(values, as: "F32"))
        let good = CheckpointBytes.zip([("W_dec.npy", npy)], deflate: false)
        let goodPath = TestFiles.path("stored-good.npz")
        try CheckpointBytes.write(good, to: goodPath)
        let goodTensor = try #require(try NpzArchive(path: goodPath).member("W_dec")).tensor()
        #expect(try goodTensor.floatValues() == values)
        #expect(try goodTensor.floatValues() == values)   // checked once, then cached

        // The CRC in the local header (byte 14) and in the central directory entry (byte 16).
        var bad = good
        let crc = CheckpointBytes.crc(npy)
        let wrong = crc ^ 0x0040_0001
        let crcBytes = withUnsafeBytes(of: crc.littleEndian, Array.init)
        #expect(Self.replace(&bad, crcBytes, with: withUnsafeBytes(of: wrong.littleEndian, Array.init)) == 2)
        let path = TestFiles.path("stored-bad-crc.npz")
        try CheckpointBytes.write(bad, to: path)
        let tensor = try #require(try NpzArchive(path: path).member("W_dec")).tensor()   // header only: fine
        #expect(tensor.shape == [6, 4])
        for _ in 0..<2 {   // the cached result refuses again
            do {
                _ = try tensor.floatValues()
                Issue.record("a stored member with a wrong CRC was read")
            } catch let error as SaegeoError {
                #expect(error.kind == .badFile && error.message.contains("W_dec.npy") && !error.message.contains("\n")
                        && error.message.contains(String(crc, radix: 16)) && error.message.contains(String(wrong, radix: 16)), "\(error)")
            }
        }
        #expect(throws: SaegeoError.self) { try tensor.featureMatrix(featureAxis: 0) }
    }

    @Test("npz: a deflated member is inflated into a file that has no name, leaving the folder empty")
    func npzInflatedFileUnlinked() throws {
        let values = (0..<3000).map { Float($0) * 0.25 }
        let path = TestFiles.path("deflated.npz")
        try CheckpointBytes.write(CheckpointBytes.zip([("W_dec.npy", Self.npyMember(values))], deflate: true), to: path)
        let member = try #require(try NpzArchive(path: path).member("W_dec"))
        let folder = try Self.scratchFolder("inflate-tmp")
        let (file, offset) = try member.data(temporaryFolder: folder)
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder) == [])   // while still mapped
        let read = CheckpointBytes.decode(Array(file.bytes[offset..<(offset + values.count * 4)]), as: "F32")
        #expect(read == values)
        #expect(try member.tensor().floatValues() == values)
    }
}
