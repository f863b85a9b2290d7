// Feeds every input to all of saegeo's readers of untrusted bytes: the checkpoint parsers
// (safetensors, npy, npz, PyTorch .pt/.pth with its pickle machine), reading the bytes they say are there, and the job layer's readers of
// its own files (a checkpoint block's check, a shard's manifest from safetensors metadata or
// JSON, a .jsonl / .csv score shard's line check, the strict JSON parser), so that
// AddressSanitizer sees any access outside the input and a trap shows as a crash.
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
        // As a checkpoint block of some job, and as a shard.
        let checkpoint = ShardCheckpoint(output: "fuzz-output", job: safetensors.metadata["saegeo.job"] ?? "job")
        let range = safetensors.metadata["saegeo.block"].flatMap(ShardManifest.parseRange) ?? 0..<1
        _ = checkpoint.check(safetensors, block: range, holds: { tensors, block in tensors.first?.shape.first == block.count })
        if let manifest = try? ShardManifest(metadata: safetensors.metadata, source: "fuzz-input"),
           let tensors = try? OutputTensor.all(in: safetensors) {
            _ = manifest.checksum(of: tensors)
        }
    }
    let data = size > 0 ? Data(bytes: data!, count: size) : Data()
    _ = try? StrictJSON.parse(file.bytes)
    if let manifest = try? ShardManifest.parse(json: data, manifest: "fuzz-input.shard.json", output: "fuzz-input") {
        _ = try? ScoreLines.verify(data, csv: false, samples: manifest.range, path: "fuzz-input")
    }
    for csv in [false, true] {
        _ = try? ScoreLines.verify(data, csv: csv, samples: 0..<(size % 64), path: "fuzz-input")
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
    if let checkpoint = try? TorchCheckpointFile(file: file) {
        checkpoint.tensors.forEach(touch)
        for tensor in checkpoint.tensors where tensor.elementCount <= 1 << 16 { _ = try? tensor.numericValues() }
    }
    return 0
}

let callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> Int32 = { fuzzOneInput($0, $1) }
var argc = CommandLine.argc
var argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = CommandLine.unsafeArgv
exit(LLVMFuzzerRunDriver(&argc, &argv, callback))
