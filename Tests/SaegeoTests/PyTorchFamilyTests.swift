import Foundation
import Testing
@testable import SaegeoCore

/// The families that ship PyTorch pickles, from checkpoints real torch.save wrote
/// (Tests/Fixtures/families/make_family_fixtures.py); the reference takes every tensor from
/// numpy's float64 copy beside the checkpoint, never from saegeo's pickle reader.
struct PyTorchFamilyTests {
    typealias Ref = FamilyTests.Reference
    static let d = FamilyTests.dIn, n = 53
    static let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/families")

    static func fixture(_ name: String) -> String { folder.appendingPathComponent(name).path }

    /// numpy's copy: every array of NAME.expected.npz (stored '<f8', C order) as float64.
    static func expected(_ checkpoint: String) throws -> [String: [Double]] {
        let archive = try NpzArchive(path: fixture(checkpoint + ".expected.npz"))
        var arrays: [String: [Double]] = [:]
        for member in archive.members {
            let bytes = UnsafeRawBufferPointer(rebasing: archive.file.bytes[member.dataRange])
            let headerLength = Int(bytes[8]) | Int(bytes[9]) << 8
            let header = String(decoding: bytes[10..<(10 + headerLength)], as: UTF8.self)
            #expect(header.contains("'descr': '<f8'") && header.contains("'fortran_order': False"))
            let count = (bytes.count - 10 - headerLength) / 8
            arrays[member.name] = (0..<count).map { bytes.loadUnaligned(fromByteOffset: 10 + headerLength + 8 * $0, as: Double.self) }
        }
        return arrays
    }

    /// [rows, columns] row-major → its transpose.
    static func t(_ v: [Double], _ rows: Int, _ columns: Int) -> [Double] {
        (0..<(rows * columns)).map { i in v[(i % rows) * columns + i / rows] }
    }

    @Test("Goodfire SAEs, F32 and BF16", arguments: ["f32", "bf16"])
    func goodfire(_ dtype: String) throws {
        let name = "goodfire/Test-SAE-l3-\(dtype).pth", e = try Self.expected(name)
        let reference = Ref(features: Self.n, dOut: Self.d, wEnc: e["encoder_linear.weight"]!, bias: e["encoder_linear.bias"]!,
                            wDec: Self.t(e["decoder_linear.weight"]!, Self.d, Self.n), activation: .relu)
        try FamilyTests.check(Self.fixture(name), format: .goodfire, reference, label: "goodfire \(dtype)")
    }

    @Test("OpenAI GPT-2 autoencoders, ReLU and TopK (layer-normalised inputs)", arguments: ["relu", "topk"])
    func openai(_ activation: String) throws {
        let name = "openai/\(activation)/3.pt", e = try Self.expected(name)
        var reference = Ref(features: Self.n, dOut: Self.d, wEnc: e["encoder.weight"]!, bias: e["latent_bias"]!,
                            wDec: Self.t(e["decoder.weight"]!, Self.d, Self.n), activation: .relu, subtract: e["pre_bias"]!)
        if activation == "topk" {
            reference.activation = .topK(5)
            reference.normalization = .layerNorm
        }
        try FamilyTests.check(Self.fixture(name), format: .openai, reference, label: "openai \(activation)")
    }

    @Test("Qwen-Scope TopK with the K of its repository name, F32 and BF16", arguments: ["", "-bf16"])
    func qwenScope(_ variant: String) throws {
        let name = "qwen-scope/SAE-Res-Test\(variant)-W1K-L0_5/layer3.sae.pt", e = try Self.expected(name)
        let reference = Ref(features: Self.n, dOut: Self.d, wEnc: e["W_enc"]!, bias: e["b_enc"]!,
                            wDec: Self.t(e["W_dec"]!, Self.d, Self.n), activation: .topK(5))
        try FamilyTests.check(Self.fixture(name), format: .qwenScope, reference, label: "qwen-scope\(variant)")
    }

    static let dictionaryClasses = ["AutoEncoder", "GatedAutoEncoder", "JumpReluAutoEncoder", "AutoEncoderTopK",
                                    "BatchTopKSAE", "MatryoshkaBatchTopKSAE"]

    @Test("dictionary_learning dictionaries", arguments: dictionaryClasses.indices)
    func dictionaryLearning(_ index: Int) throws {
        let trainer = "dictionary-learning/resid_post_layer_3/trainer_\(index)"
        let e = try Self.expected(trainer + "/ae.pt"), (d, n) = (Self.d, Self.n)
        let reference: Ref
        switch Self.dictionaryClasses[index] {
        case "AutoEncoder":
            reference = Ref(features: n, dOut: d, wEnc: e["encoder.weight"]!, bias: e["encoder.bias"]!,
                            wDec: Self.t(e["decoder.weight"]!, d, n), activation: .relu, subtract: e["bias"]!)
        case "GatedAutoEncoder":
            reference = Ref(features: n, dOut: d, wEnc: e["encoder.weight"]!, bias: e["gate_bias"]!,
                            wDec: Self.t(e["decoder.weight"]!, d, n),
                            activation: .gated(scale: e["r_mag"]!.map { Double(Float(exp($0))) }, bias: e["mag_bias"]!),
                            subtract: e["decoder_bias"]!)
        case "JumpReluAutoEncoder":
            reference = Ref(features: n, dOut: d, wEnc: Self.t(e["W_enc"]!, d, n), bias: e["b_enc"]!, wDec: e["W_dec"]!,
                            activation: .jump(e["threshold"]!))
        case "AutoEncoderTopK":
            reference = Ref(features: n, dOut: d, wEnc: e["encoder.weight"]!, bias: e["encoder.bias"]!,
                            wDec: Self.t(e["decoder.weight"]!, d, n), activation: .topK(Int(e["k"]![0])), subtract: e["b_dec"]!)
        case "BatchTopKSAE":
            reference = Ref(features: n, dOut: d, wEnc: e["encoder.weight"]!, bias: e["encoder.bias"]!,
                            wDec: Self.t(e["decoder.weight"]!, d, n),
                            activation: .jump([Double](repeating: e["threshold"]![0], count: n)), subtract: e["b_dec"]!)
        default:
            reference = Ref(features: n, dOut: d, wEnc: Self.t(e["W_enc"]!, d, n), bias: e["b_enc"]!, wDec: e["W_dec"]!,
                            activation: .jump([Double](repeating: e["threshold"]![0], count: n)), subtract: e["b_dec"]!)
        }
        try FamilyTests.check(Self.fixture(trainer), format: .dictionaryLearning, reference,
                              label: "dictionary_learning \(Self.dictionaryClasses[index])")
        let details = try SAECheckpoint.open(Self.fixture(trainer)).details
        #expect(details.contains(.init("dictionary class", Self.dictionaryClasses[index])))
    }
}
