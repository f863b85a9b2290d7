import Foundation
import Testing
@testable import SaegeoCore

struct StorageTests {
    @Test("npy files round-trip, including float16 and Fortran order read as columns")
    func npyRoundTrip() throws {
        let values: [Float] = (0..<(5 * 3)).map { Float($0) * 0.5 - 2 }
        let path = TestFiles.path("roundtrip.npy")
        try NpyWriter.write(float32: values, rows: 5, columns: 3, to: path)
        let matrix = try SAECheckpoint.open(path).decoder()
        #expect(matrix.features == 5 && matrix.dimension == 3 && matrix.layout == .rows)
        var row = [Float](repeating: 0, count: 3)
        row.withUnsafeMutableBufferPointer { matrix.copyFeature(4, into: $0.baseAddress!) }
        #expect(row == Array(values[12..<15]))

        // float16, Fortran order: element (i, j) of a [2, 3] array stored at j * 2 + i.
        let halves: [Float16] = [1, 4, 2, 5, 3, 6]
        var header = "{'descr': '<f2', 'fortran_order': True, 'shape': (2, 3), }"
        header += String(repeating: " ", count: (64 - (11 + header.utf8.count) % 64) % 64) + "\n"
        var data = Data([0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59, 1, 0, UInt8(header.utf8.count), 0])
        data.append(contentsOf: header.utf8)
        halves.withUnsafeBytes { data.append(contentsOf: $0) }
        let halfPath = TestFiles.path("half-fortran.npy")
        try data.write(to: URL(fileURLWithPath: halfPath))
        let half = try SAECheckpoint.open(halfPath).decoder()
        #expect(half.scalarType == .f16 && half.layout == .columns)
        var second = [Float](repeating: 0, count: 3)
        second.withUnsafeMutableBufferPointer { half.copyFeature(1, into: $0.baseAddress!) }
        #expect(second == [4, 5, 6])
    }

    @Test("feature id files: comments, blank lines, CRLF")
    func idFiles() throws {
        let path = try TestFiles.write("# toxic features\r\n12\r\n\r\n  7 \n# end\n0\n", to: "ids.txt")
        #expect(try FeatureSelection(argument: path).resolve(features: 13, role: "queries") == [12, 7, 0])
        #expect(try FeatureSelection(argument: "all").resolve(features: 3, role: "keys") == [0, 1, 2])
        let empty = try TestFiles.write("# nothing\n\n", to: "empty-ids.txt")
        #expect(throws: SaegeoError.self) { try FeatureSelection(argument: empty).resolve(features: 3, role: "keys") }
    }

    @Test("safetensors output: aligned header, metadata, tensors in order")
    func safetensorsLayout() throws {
        let path = TestFiles.path("layout.safetensors")
        try SafetensorsWriter.write([
            .int64("ids", shape: [3], [1, -1, 5]),
            .float32("scores", shape: [1, 3], [0.5, -.infinity, 1]),
        ], metadata: ["note": "quote \" and backslash \\"], to: path)
        let bytes = try Data(contentsOf: URL(fileURLWithPath: path))
        let headerLength = bytes.prefix(8).withUnsafeBytes { $0.loadUnaligned(as: UInt64.self) }
        #expect((8 + headerLength) % 8 == 0)
        let file = try SafetensorsContents(path: path)
        #expect(file.int64("ids") == [1, -1, 5])
        #expect(file.float32("scores") == [0.5, -.infinity, 1])
        #expect(file.metadata["note"] == "quote \" and backslash \\")
    }

    @Test("float64 norms and the error bound")
    func exactArithmetic() {
        let x: [Float] = [3, 4, 0, 0, 12]
        let norm = x.withUnsafeBufferPointer { Exact.norm($0.baseAddress!, count: 5) }
        #expect(norm == 13)
        #expect(ExactRanking.errorBound(dimension: 4608) < 3e-4)
    }
}
