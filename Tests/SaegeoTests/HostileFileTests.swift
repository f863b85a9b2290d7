import Foundation
import Testing
@testable import SaegeoCore

/// Lax or corrupt files handed to saegeo: a fractional sample id, float shapes, a tensor named
/// twice, a stored npz member with a bad CRC, empty scores, a safetensors header of 200000
/// tensors (inspected quickly) and a zip bomb (refused as it inflates, leaving TMPDIR empty).
@Suite(.serialized)
struct HostileFileTests: HostileCommandLineSuite {
    static func f32(_ count: Int) -> [UInt8] {
        CheckpointBytes.encode((0..<count).map { Float(($0 * 37) % 101) / 50 - 1 }, as: "F32")
    }

    /// Gemma Scope params.npz members for a [64, 8] dictionary, W_dec first.
    static func gemmaMembers(decoder: [UInt8]) -> [(name: String, data: [UInt8])] {
        [("W_dec.npy", decoder),
         ("W_enc.npy", CheckpointBytes.npy(descr: "<f4", shape: [8, 64], payload: f32(512))),
         ("b_enc.npy", CheckpointBytes.npy(descr: "<f4", shape: [64], payload: f32(64))),
         ("b_dec.npy", CheckpointBytes.npy(descr: "<f4", shape: [8], payload: f32(8))),
         ("threshold.npy", CheckpointBytes.npy(descr: "<f4", shape: [64], payload: f32(64)))]
    }

    static func writeUInt64(_ value: UInt64, into bytes: inout [UInt8], at offset: Int) {
        for i in 0..<8 { bytes[offset + i] = UInt8((value >> (8 * UInt64(i))) & 0xFF) }
    }

    // MARK: lax parsing

    @Test("lax files: fractional sample id, float shapes, duplicate tensor names, a bad stored CRC, empty scores")
    func laxParsing() throws {
        let dropped = Self.out("lax-dropped.txt")
        let lax = try TestFiles.write("{\"sample\": 0, \"score\": 0.2}\n{\"sample\": 1.5, \"score\": 0.1}\n", to: "hostile-lax.jsonl")
        try Self.expectRefused(["filter", "--scores", lax, "--drop-fraction", "0.1", "--dropped", dropped],
                               mentions: ["line 2", "sample", "1.5"], absent: [dropped])

        let floatShape = TestFiles.path("hostile-float-shape.safetensors")
        try CheckpointBytes.write(CheckpointBytes.safetensors(
            header: "{\"W_dec\":{\"dtype\":\"F32\",\"shape\":[64.0, 8.0],\"data_offsets\":[0,2048]}}", data: Self.f32(512)), to: floatShape)
        let duplicate = TestFiles.path("hostile-duplicate.safetensors")
        try CheckpointBytes.write(CheckpointBytes.safetensors(
            header: "{\"W_dec\":{\"dtype\":\"F32\",\"shape\":[8,4],\"data_offsets\":[0,128]},"
                + "\"W_dec\":{\"dtype\":\"F32\",\"shape\":[8,4],\"data_offsets\":[0,128]}}", data: Self.f32(32)), to: duplicate)

        // A stored npz whose W_dec bytes no longer match the recorded CRC-32: flip a byte of its
        // data, past the 30 + 9 + 20 byte local header and the 128-byte npy header.
        let decoder = CheckpointBytes.npy(descr: "<f4", shape: [64, 8], payload: Self.f32(512))
        var npz = CheckpointBytes.zip(Self.gemmaMembers(decoder: decoder), deflate: false)
        npz[59 + 128 + 100] ^= 0xFF
        let badCRC = TestFiles.path("hostile-crc.npz")
        try CheckpointBytes.write(npz, to: badCRC)

        let o = Self.out("lax.safetensors")
        for (path, words) in [(floatShape, ["64.0", "integer"]), (duplicate, ["'W_dec'", "twice"])] {
            try Self.expectRefused(["inspect", path], mentions: words)
            try Self.expectRefused(["neighbors", "--sae", path, "-k", "2", "-o", o, "--device", "cpu"], mentions: words, absent: [o])
        }
        try Self.expectRefused(["neighbors", "--sae", badCRC, "-k", "2", "-o", o, "--device", "cpu"],
                               mentions: ["W_dec.npy", "CRC"], absent: [o])

        for (name, text) in [("hostile-empty.jsonl", ""), ("hostile-empty.csv", "sample,score,active\n")] {
            let empty = try TestFiles.write(text, to: name)
            try Self.expectRefused(["filter", "--scores", empty, "--drop-fraction", "0.1", "--dropped", dropped],
                                   mentions: [name, "no samples"], absent: [dropped])
        }
    }

    // MARK: many tensors

    @Test("a safetensors header of 200000 tensors is inspected in under 30 s in a debug build")
    func manyTensors() throws {
        var entries = ["\"W_dec\":{\"dtype\":\"F32\",\"shape\":[8,4],\"data_offsets\":[0,128]}"]
        entries.reserveCapacity(200_001)
        for i in 0..<200_000 {
            entries.append("\"t\(i)\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[\(128 + i),\(129 + i)]}")
        }
        let path = TestFiles.path("hostile-many.safetensors")
        try CheckpointBytes.write(CheckpointBytes.safetensors(header: "{" + entries.joined(separator: ",") + "}",
                                                              data: Self.f32(32) + [UInt8](repeating: 7, count: 200_000)), to: path)
        let start = Date()
        let run = try Self.expectSuccess(["inspect", path])
        let seconds = Date().timeIntervalSince(start)
        print("inspect of 200000 tensors: \(String(format: "%.2f", seconds)) s")
        #expect(seconds < 30, "inspect took \(seconds) s (a debug build; the release build takes well under a second)")
        #expect(run.stdout.contains("W_dec") && run.stdout.contains("t199999"), "\(run.stdout.prefix(500))")
    }

    // MARK: zip bomb

    @Test("a deflated npz member declaring 2176 bytes that inflates to 64 MiB is refused; TMPDIR stays empty")
    func zipBomb() throws {
        // A valid npy header for [64, 8] float32 (2176 bytes in all), then 64 MiB of zeros.
        let declared: UInt64 = 2176
        let bomb = CheckpointBytes.npy(descr: "<f4", shape: [64, 8], payload: [UInt8](repeating: 0, count: 64 << 20))
        var npz = CheckpointBytes.zip(Self.gemmaMembers(decoder: bomb), deflate: true)
        // Declare 2176 uncompressed bytes in W_dec's ZIP64 extra fields: the local one follows the
        // 30-byte header and 9-byte name; the central one follows the 46-byte entry and the name,
        // at the central directory offset that the ZIP64 end record holds 50 bytes from the end.
        Self.writeUInt64(declared, into: &npz, at: 30 + 9 + 4)
        let central = npz[(npz.count - 50)..<(npz.count - 42)].enumerated().reduce(0) { $0 | Int($1.element) << (8 * $1.offset) }
        Self.writeUInt64(declared, into: &npz, at: central + 46 + 9 + 4)
        #expect(npz.count < 1 << 20, "the bomb is small: \(npz.count) bytes")
        let path = TestFiles.path("hostile-bomb.npz")
        try CheckpointBytes.write(npz, to: path)

        let temporary = Self.out("bomb-tmp")
        try? FileManager.default.removeItem(atPath: temporary)
        try FileManager.default.createDirectory(atPath: temporary, withIntermediateDirectories: true)
        let o = Self.out("bomb.safetensors")
        let run = try Self.expectRefused(["neighbors", "--sae", path, "-k", "1", "-o", o, "--device", "cpu"],
                                         mentions: ["W_dec.npy", "more than the 2176 bytes", "decompression bomb"], absent: [o],
                                         environment: ["TMPDIR": temporary])
        // Refused as it inflates, not after writing the whole member out.
        #expect(!run.stderr.contains("67108"), "\(run.stderr)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: temporary).isEmpty, "TMPDIR holds leftovers")
    }
}
