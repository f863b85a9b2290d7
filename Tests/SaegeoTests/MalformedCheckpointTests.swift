import Foundation
import Testing
@testable import SaegeoCore

/// Malformed checkpoints are refused with one line naming the problem, a non-zero exit and no
/// output file; never a crash.
@Suite(.serialized)
struct MalformedCheckpointTests {
    struct Case: CustomStringConvertible, Sendable {
        let description: String
        let expected: String
        /// Writes the bad checkpoint under `folder` and returns the path to pass to --sae.
        let write: @Sendable (_ folder: String) throws -> String
    }

    static let f32 = CheckpointBytes.encode((0..<(6 * 4)).map { Float($0) - 3 }, as: "F32")
    static func good() -> [UInt8] {
        CheckpointBytes.safetensors([.init(name: "W_dec", dtype: "F32", shape: [6, 4], bytes: f32)])
    }
    static func file(_ bytes: [UInt8], _ name: String) -> @Sendable (String) throws -> String {
        { folder in
            let path = folder + "/" + name
            try CheckpointBytes.write(bytes, to: path)
            return path
        }
    }
    static func npz(_ members: [(name: String, data: [UInt8])], deflate: Bool) -> [UInt8] {
        CheckpointBytes.zip(members, deflate: deflate)
    }
    static let npyMember = CheckpointBytes.npy(descr: "<f4", shape: [6, 4], payload: f32)

    static let cases: [Case] = [
        Case(description: "truncated safetensors", expected: "truncated",
             write: file(Array(good().dropLast(10)), "truncated.safetensors")),
        Case(description: "header length past the end", expected: "runs past the end",
             write: file(CheckpointBytes.safetensors(header: "{}", data: [], declaredLength: 4096), "long-header.safetensors")),
        Case(description: "header length over 100 MB", expected: "100 MB",
             write: file(CheckpointBytes.safetensors(header: "{}", data: [], declaredLength: 200_000_000), "huge-header.safetensors")),
        Case(description: "overlapping offsets", expected: "not contiguous", write: file(CheckpointBytes.safetensors(
            header: "{\"W_dec\":{\"dtype\":\"F32\",\"shape\":[6,4],\"data_offsets\":[0,96]},\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[88,96]}}",
            data: f32), "overlap.safetensors")),
        Case(description: "unknown dtype", expected: "unknown dtype 'F33'", write: file(CheckpointBytes.safetensors(
            header: "{\"W_dec\":{\"dtype\":\"F33\",\"shape\":[6,4],\"data_offsets\":[0,96]}}", data: f32), "dtype.safetensors")),
        Case(description: "shape disagrees with bytes", expected: "hold 96 bytes", write: file(CheckpointBytes.safetensors(
            header: "{\"W_dec\":{\"dtype\":\"F32\",\"shape\":[6,5],\"data_offsets\":[0,96]}}", data: f32), "shape.safetensors")),
        Case(description: "shape that overflows", expected: "overflows", write: file(CheckpointBytes.safetensors(
            header: "{\"W_dec\":{\"dtype\":\"F32\",\"shape\":[4611686018427387904,4],\"data_offsets\":[0,96]}}", data: f32), "overflow.safetensors")),
        Case(description: "negative offset", expected: "non-negative", write: file(CheckpointBytes.safetensors(
            header: "{\"W_dec\":{\"dtype\":\"F32\",\"shape\":[6,4],\"data_offsets\":[-4,92]}}", data: f32), "negative.safetensors")),
        Case(description: "invalid JSON", expected: "not valid safetensors JSON",
             write: file(CheckpointBytes.safetensors(header: "{\"W_dec\": [1, 2", data: f32), "json.safetensors")),
        Case(description: "header not an object", expected: "does not start with '{'",
             write: file(CheckpointBytes.safetensors(header: "[1, 2, 3]", data: []), "array.safetensors")),
        Case(description: "random bytes", expected: "safetensors",
             write: file((0..<333).map { UInt8(($0 * 7919 + 13) % 251) }, "random.safetensors")),
        Case(description: "empty safetensors", expected: "too small", write: file([], "empty.safetensors")),
        Case(description: "empty npz", expected: "too small", write: file([], "empty.npz")),
        Case(description: "empty npy", expected: "not a .npy", write: file([], "empty.npy")),
        Case(description: "random npz", expected: "not a zip", write: file((0..<500).map { UInt8($0 % 256) }, "random.npz")),
        Case(description: "npz without W_dec", expected: "'W_dec' is missing",
             write: file(npz([("W_enc.npy", npyMember)], deflate: false), "no-dec.npz")),
        Case(description: "corrupt deflated member", expected: "corrupt", write: { folder in
            var bytes = npz([("W_dec.npy", npyMember)], deflate: true)
            // Flip bits in the middle of the compressed data (after the 30 + 9 + 20 byte local header).
            for i in 70..<80 { bytes[i] ^= 0x5A }
            let path = folder + "/corrupt.npz"
            try CheckpointBytes.write(bytes, to: path)
            return path
        }),
        Case(description: "truncated npz", expected: "corrupt",
             write: file(Array(npz([("W_dec.npy", npyMember)], deflate: false).dropFirst(40)), "cut.npz")),
        Case(description: "npy shape past the data", expected: "truncated",
             write: file(CheckpointBytes.npy(descr: "<f4", shape: [600, 4], payload: f32), "short.npy")),
        Case(description: "cut pickle", expected: "without a STOP opcode", write: file([0x80, 0x02, 0x7D, 0x71, 0x00], "ae.pt")),
        Case(description: "saelens with a wrong W_enc", expected: "W_enc must be [d_in, 6]", write: { folder in
            try CheckpointBytes.write(CheckpointBytes.safetensors([
                .init(name: "W_dec", dtype: "F32", shape: [6, 4], bytes: f32),
                .init(name: "W_enc", dtype: "F32", shape: [6, 4], bytes: f32),
                .init(name: "b_enc", dtype: "F32", shape: [6], bytes: Array(f32.prefix(24))),
                .init(name: "b_dec", dtype: "F32", shape: [4], bytes: Array(f32.prefix(16))),
            ]), to: folder + "/saelens/sae_weights.safetensors")
            try CheckpointBytes.write(Array("{\"architecture\": \"standard\", \"d_in\": 4, \"d_sae\": 6}".utf8), to: folder + "/saelens/cfg.json")
            return folder + "/saelens"
        }),
        Case(description: "saelens config disagrees", expected: "d_sae is 7", write: { folder in
            try CheckpointBytes.write(good(), to: folder + "/saelens2/sae_weights.safetensors")
            try CheckpointBytes.write(Array("{\"architecture\": \"standard\", \"d_in\": 4, \"d_sae\": 7}".utf8), to: folder + "/saelens2/cfg.json")
            return folder + "/saelens2"
        }),
        Case(description: "integer decoder", expected: "F32, F16 or BF16", write: file(CheckpointBytes.safetensors([
            .init(name: "W_dec", dtype: "I32", shape: [6, 4], bytes: f32)]), "int.safetensors")),
    ]

    @Test("refused with one line, non-zero exit, no output", arguments: cases)
    func refused(_ bad: Case) throws {
        try Self.expectRefused(bad, in: TestFiles.path("malformed"))
    }

    /// `neighbors` and `inspect` of the case's checkpoint: one line naming the problem, exit 1, no output.
    static func expectRefused(_ bad: Case, in folder: String) throws {
        let sae = try bad.write(folder)
        let out = folder + "/out-\(bad.description.replacingOccurrences(of: " ", with: "-")).safetensors"
        let run = try CommandRunner.saegeo(["neighbors", "--sae", sae, "-k", "2", "-o", out, "--device", "cpu"])
        #expect(run.status == 1, "exit \(run.status): \(run.stderr)")
        #expect(run.stderr.split(separator: "\n").count == 1, "\(run.stderr)")
        #expect(run.stderr.contains(bad.expected), "\(run.stderr)")
        #expect(!FileManager.default.fileExists(atPath: out))
        let inspect = try CommandRunner.saegeo(["inspect", sae])
        #expect(inspect.status == 1 && inspect.stderr.split(separator: "\n").count == 1, "inspect: \(inspect.stderr)")
    }
}
