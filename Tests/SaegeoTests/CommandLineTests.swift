import Foundation
import Testing
@testable import SaegeoCore

/// The `saegeo` executable as users run it: outputs, devices, and one-line errors for bad input.
@Suite(.serialized)
struct CommandLineTests {
    static let dictionary = try! TestDictionary.make(features: 203, dimension: 37, seed: 9, dead: [4], duplicates: [(8, 2)])

    @Test("neighbors on cpu and on every OpenCL device write bit-identical, correct outputs")
    func neighborsAcrossDevices() throws {
        let devices = TestBackends.standardIds
        let queries = try TestFiles.write("# a comment\n0\n\n2\n4\n150\n202\n", to: "cli-queries.txt")
        let reference = Self.dictionary.referenceNeighbors(queries: [0, 2, 4, 150, 202], keys: Array(0..<203), k: 7)
        var outputs: [SafetensorsContents] = []
        for device in devices {
            let out = TestFiles.path("cli-\(device).safetensors")
            let run = try CommandRunner.saegeo(["neighbors", "--sae", Self.dictionary.path, "--queries", queries,
                                                "-k", "7", "-o", out, "--device", device])
            #expect(run.status == 0, "\(device): \(run.stderr)")
            #expect(run.stderr.contains("GFLOP/s"), "summary line: \(run.stderr)")
            let file = try SafetensorsContents(path: out)
            #expect(file.tensors["query_ids"]?.dtype == "I64")
            #expect(file.tensors["indices"]?.shape == [5, 7])
            #expect(file.tensors["scores"]?.dtype == "F32")
            #expect(file.int64("query_ids") == [0, 2, 4, 150, 202])
            #expect(file.int64("indices") == reference.indices, "\(device)")
            #expect(file.metadata["saegeo.k"] == "7")
            #expect(file.metadata["saegeo.device"] == device)
            outputs.append(file)
        }
        for file in outputs.dropFirst() {
            #expect(file.int64("indices") == outputs[0].int64("indices"))
            #expect(file.float32("scores").map(\.bitPattern) == outputs[0].float32("scores").map(\.bitPattern))
        }
    }

    @Test("devices lists OpenCL devices then cpu, as JSON with the documented keys")
    func devicesJSON() throws {
        let run = try CommandRunner.saegeo(["devices", "--json"])
        #expect(run.status == 0)
        let list = try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as! [[String: Any]]
        #expect(list.last?["id"] as? String == "cpu")
        #expect(list.last?["backend"] as? String == "blas")
        for (index, device) in list.dropLast().enumerated() {
            #expect(device["id"] as? String == "opencl:\(index)")
            #expect(device["backend"] as? String == "opencl")
        }
        for device in list {
            for key in ["id", "name", "vendor", "type", "backend", "global_memory_bytes", "max_allocation_bytes", "compute_units"] {
                #expect(device[key] != nil, "missing \(key)")
            }
        }
    }

    struct BadInput: CustomStringConvertible, Sendable {
        let description: String
        let arguments: @Sendable (_ sae: String, _ out: String) throws -> [String]
        let expected: String
    }

    static let badInputs: [BadInput] = [
        BadInput(description: "missing SAE file", arguments: { _, out in
            ["neighbors", "--sae", "/nonexistent/W_dec.npy", "-k", "3", "-o", out] }, expected: "does not exist"),
        BadInput(description: "k < 1", arguments: { sae, out in
            ["neighbors", "--sae", sae, "-k", "0", "-o", out] }, expected: "at least 1"),
        BadInput(description: "unknown device", arguments: { sae, out in
            ["neighbors", "--sae", sae, "-k", "3", "-o", out, "--device", "opencl:99"] }, expected: "unknown device"),
        BadInput(description: "unknown device name", arguments: { sae, out in
            ["neighbors", "--sae", sae, "-k", "3", "-o", out, "--device", "tpu"] }, expected: "unknown device"),
        BadInput(description: "id out of range", arguments: { sae, out in
            ["neighbors", "--sae", sae, "-k", "3", "-o", out,
             "--queries", try TestFiles.write("1\n203\n", to: "bad-range.txt")] }, expected: "out of range"),
        BadInput(description: "id that is not a number", arguments: { sae, out in
            ["neighbors", "--sae", sae, "-k", "3", "-o", out,
             "--keys", try TestFiles.write("1\nfeature-two\n", to: "bad-id.txt")] }, expected: "line 2"),
        BadInput(description: "missing id file", arguments: { sae, out in
            ["neighbors", "--sae", sae, "-k", "3", "-o", out, "--keys", "/nonexistent/keys.txt"] }, expected: "cannot read"),
        BadInput(description: "wrong dtype", arguments: { _, out in
            ["neighbors", "--sae", try Self.writeNpy(descr: "<f8", shape: "(4, 2)", payload: 64, name: "f64.npy"),
             "-k", "3", "-o", out] }, expected: "dtype '<f8'"),
        BadInput(description: "truncated npy", arguments: { _, out in
            ["neighbors", "--sae", try Self.writeNpy(descr: "<f4", shape: "(400, 20)", payload: 100, name: "short.npy"),
             "-k", "3", "-o", out] }, expected: "truncated"),
        BadInput(description: "not an npy file", arguments: { _, out in
            ["neighbors", "--sae", try TestFiles.write("hello", to: "text.npy"), "-k", "3", "-o", out] }, expected: "not a .npy"),
        BadInput(description: "1-D array", arguments: { _, out in
            ["neighbors", "--sae", try Self.writeNpy(descr: "<f4", shape: "(8,)", payload: 32, name: "vector.npy"),
             "-k", "3", "-o", out] }, expected: "2-D"),
        BadInput(description: "pickle checkpoint", arguments: { _, out in
            ["neighbors", "--sae", try TestFiles.write("not really a pickle", to: "ae.pt"), "-k", "3", "-o", out] },
                 expected: "is not a PyTorch checkpoint"),
        BadInput(description: "output folder missing", arguments: { sae, _ in
            ["neighbors", "--sae", sae, "-k", "3", "-o", "/nonexistent/out.safetensors"] }, expected: "does not exist"),
    ]

    @Test("bad input: one line saying what is wrong, non-zero exit, no output file", arguments: badInputs)
    func badInput(_ bad: BadInput) throws {
        let out = TestFiles.path("bad-\(bad.description.replacingOccurrences(of: " ", with: "-")).safetensors")
        let run = try CommandRunner.saegeo(try bad.arguments(Self.dictionary.path, out))
        #expect(run.status != 0)
        let lines = run.stderr.split(separator: "\n")
        #expect(lines.count == 1, "expected one line, got: \(run.stderr)")
        #expect(run.stderr.contains(bad.expected), "\(run.stderr)")
        #expect(!run.stderr.contains("Fatal error"))
        #expect(!FileManager.default.fileExists(atPath: out))
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: TestFiles.folder.path).filter { $0.contains(".partial-") }
        #expect(leftovers.isEmpty)
    }

    static func writeNpy(descr: String, shape: String, payload: Int, name: String) throws -> String {
        var header = "{'descr': '\(descr)', 'fortran_order': False, 'shape': \(shape), }"
        header += String(repeating: " ", count: (64 - (11 + header.utf8.count) % 64) % 64) + "\n"
        var data = Data([0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59, 1, 0, UInt8(header.utf8.count & 0xFF), UInt8(header.utf8.count >> 8)])
        data.append(contentsOf: header.utf8)
        data.append(Data(repeating: 0x3F, count: payload))
        let path = TestFiles.path(name)
        try data.write(to: URL(fileURLWithPath: path))
        return path
    }
}
