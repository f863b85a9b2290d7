// Feeds every input to saegeo's readers of untrusted bytes, so that AddressSanitizer sees any
// access outside the input and a trap shows as a crash. SAEGEO_FUZZ_TARGET picks which readers
// (scripts/fuzz.sh runs each group for its own time, so that the two readers of hostile
// checkpoints get their full share rather than a slice of one run):
//   pickle  the pickle machine and state-dict flattening on the raw input (a bare pickle, so
//           mutations reach the opcodes without having to keep a zip and its CRCs valid), and
//           the tensor views it builds, read from the input as their storage (strided copies);
//   zip     the zip reader (central directory, ZIP64, duplicate names, CRCs, inflation) as an
//           .npz and as a PyTorch checkpoint, and whole .pt/.pth checkpoints (zip and legacy);
//   others  safetensors, npy, the job layer's files (a checkpoint block's check, a shard's
//           manifest from safetensors metadata or JSON, .jsonl / .csv score shards), strict JSON;
//   all     every one of them (the default).
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

func fuzzPickle(_ file: MappedFile) {
    let budget = PickleBudget(path: file.path)
    let machine = PickleMachine(bytes: file.bytes, start: 0, end: file.size, path: file.path, budget: budget)
    guard let flat = try? machine.load({ try TorchStateDictFlattening($0, opcodes: machine.opcodes, path: file.path, budget: budget) }) else { return }
    // Every storage is the whole input: views are bounds-checked against it, then read.
    let whole = TorchStorageBytes(range: 0..<file.size, record: nil)
    for (name, view) in flat.tensors {
        guard let tensor = try? view.stored(name: name, file: file, storageBytes: whole) else { continue }
        if tensor.elementCount <= 1 << 16 { _ = try? tensor.numericValues() }
        touch(tensor)
    }
}

func fuzzZip(_ file: MappedFile) {
    for kind in [NpzArchive.Kind.npz, TorchCheckpointFile.zipKind] {
        guard let archive = try? NpzArchive(file: file, kind: kind) else { continue }
        for member in archive.members {
            _ = archive.member(member.name)
            if member.method == 0 { _ = try? member.verifiedRange() }
            // Inflate small members whole (CRC and size checks); large ones only their header.
            if member.uncompressedSize <= 1 << 16, let tensor = try? member.tensor() { touch(tensor) }
            else { _ = try? member.header() }
        }
    }
    if let checkpoint = try? TorchCheckpointFile(file: file) {
        checkpoint.tensors.forEach(touch)
        for tensor in checkpoint.tensors where tensor.elementCount <= 1 << 16 { _ = try? tensor.numericValues() }
    }
}

func fuzzOthers(_ file: MappedFile, _ data: UnsafePointer<UInt8>?, _ size: Int) {
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
}

enum Target: String { case pickle, zip, others, all }
let target: Target = {
    let name = ProcessInfo.processInfo.environment["SAEGEO_FUZZ_TARGET"] ?? "all"
    guard let target = Target(rawValue: name) else {
        FileHandle.standardError.write(Data("saegeo-fuzz: SAEGEO_FUZZ_TARGET is '\(name)'; use pickle, zip, others or all\n".utf8))
        exit(2)
    }
    return target
}()

/// One input. Also exported under libFuzzer's conventional name, which its runtime references.
@_cdecl("LLVMFuzzerTestOneInput")
func fuzzOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    let file = MappedFile(copying: UnsafeRawBufferPointer(start: data, count: size), path: "fuzz-input")
    if target == .pickle || target == .all { fuzzPickle(file) }
    if target == .zip || target == .all { fuzzZip(file) }
    if target == .others || target == .all { fuzzOthers(file, data, size) }
    return 0
}

_ = target
let callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> Int32 = { fuzzOneInput($0, $1) }
var argc = CommandLine.argc
var argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = CommandLine.unsafeArgv
exit(LLVMFuzzerRunDriver(&argc, &argv, callback))
