// Feeds every input to all three parsers (safetensors, npy, npz) and, where one accepts it,
// reads the bytes it says are there, so AddressSanitizer sees any access outside the input.
import CFuzzer
import Foundation
@testable import SaegeoCore

/// Reads the first and last feature of a matrix the parser accepted.
func touch(_ tensor: StoredTensor) {
    guard tensor.shape.count == 2, tensor.scalarType != nil, tensor.shape.allSatisfy({ $0 > 0 }),
          let matrix = try? tensor.featureMatrix(featureAxis: 0) else { return }
    let row = UnsafeMutablePointer<Float>.allocate(capacity: matrix.dimension)
    defer { row.deallocate() }
    matrix.copyFeature(0, into: row)
    matrix.copyFeature(matrix.features - 1, into: row)
}

/// One input. Also exported under libFuzzer's conventional name, which its runtime references.
@_cdecl("LLVMFuzzerTestOneInput")
func fuzzOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    let file = MappedFile(copying: UnsafeRawBufferPointer(start: data, count: size), path: "fuzz-input")
    if let safetensors = try? SafetensorsFile(file: file) {
        safetensors.tensors.forEach(touch)
    }
    if let npy = try? NpyFile(file: file, range: 0..<file.size, name: "fuzz-input") {
        touch(npy.tensor)
    }
    if let archive = try? NpzArchive(file: file) {
        for member in archive.members {
            // Inflate small members whole (CRC and size checks); large ones only their header.
            if member.uncompressedSize <= 1 << 16, let tensor = try? member.tensor() { touch(tensor) }
            else { _ = try? member.header() }
        }
    }
    return 0
}

let callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> Int32 = { fuzzOneInput($0, $1) }
var argc = CommandLine.argc
var argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = CommandLine.unsafeArgv
exit(LLVMFuzzerRunDriver(&argc, &argv, callback))
