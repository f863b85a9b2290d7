import Foundation
import Testing
@testable import SaegeoCore

/// The families, one test per layout and dtype (FamilyTests holds the reference and the checks).
struct FamilyCaseTests {
    typealias Ref = FamilyTests.Reference
    let d = FamilyTests.dIn

    // MARK: SAELens 6

    struct SAELensCase: CustomStringConvertible, Sendable {
        let architecture: String
        let dtype: String
        var normalize = "none"
        var dOut = FamilyTests.dIn
        var description: String { "\(architecture) \(dtype) \(normalize) d_out \(dOut)" }
    }

    static let saelensCases: [SAELensCase] = [
        .init(architecture: "standard", dtype: "F32"),
        .init(architecture: "jumprelu", dtype: "BF16"),
        .init(architecture: "topk", dtype: "F16"),
        .init(architecture: "gated", dtype: "F32"),
        .init(architecture: "gated", dtype: "BF16"),
        .init(architecture: "batchtopk", dtype: "F32"),
        .init(architecture: "jumprelu_transcoder", dtype: "F32", dOut: 23),
        .init(architecture: "standard", dtype: "F32", normalize: "layer_norm"),
        .init(architecture: "standard", dtype: "BF16", normalize: "constant_norm_rescale"),
    ]

    @Test("SAELens 6 architectures", arguments: saelensCases)
    func saelens(_ c: SAELensCase) throws {
        let n = 53
        var v = FamilyTests.Values(rng: SeededGenerator(seed: 11), dtype: c.dtype)
        let wEnc = v.next(d * n, 0.4), wDec = v.next(n * c.dOut, 1), bEnc = v.next(n, 0.3, -0.2), bDec = v.next(c.dOut, 0.2)
        let threshold = v.next(n, 0.1, 0.3).map(abs), rMag = v.next(n, 0.3), bMag = v.next(n, 0.3)
        let folder = FamilyTests.folder("saelens-\(c.architecture)-\(c.dtype)-\(c.normalize)")
        var tensors = [FamilyTests.tensor("W_enc", wEnc, [d, n], c.dtype), FamilyTests.tensor("W_dec", wDec, [n, c.dOut], c.dtype),
                       FamilyTests.tensor("b_dec", bDec, [c.dOut], c.dtype)]
        let transcoder = c.architecture.contains("transcoder")
        var reference = Ref(features: n, dOut: c.dOut, wEnc: FamilyTests.doubles(FamilyTests.transposed(wEnc, d, n)),
                             bias: FamilyTests.doubles(bEnc), wDec: FamilyTests.doubles(wDec), activation: .relu,
                             subtract: transcoder ? nil : FamilyTests.doubles(bDec))
        switch c.architecture {
        case "gated":
            tensors += [FamilyTests.tensor("b_gate", bEnc, [n], c.dtype), FamilyTests.tensor("r_mag", rMag, [n], c.dtype),
                        FamilyTests.tensor("b_mag", bMag, [n], c.dtype)]
            reference.activation = .gated(scale: rMag.map { Double(Float(exp(Double($0)))) }, bias: FamilyTests.doubles(bMag))
        case "batchtopk":
            tensors += [FamilyTests.tensor("b_enc", bEnc, [n], c.dtype), FamilyTests.tensor("topk_threshold", [0.35], [], "F32")]
            reference.activation = .jump([Double](repeating: 0.35, count: n).map { Double(Float($0)) })
        default:
            tensors.append(FamilyTests.tensor("b_enc", bEnc, [n], c.dtype))
            if c.architecture.contains("jumprelu") {
                tensors.append(FamilyTests.tensor("threshold", threshold, [n], c.dtype))
                reference.activation = .jump(FamilyTests.doubles(threshold))
            }
            if c.architecture == "topk" { reference.activation = .topK(4) }
        }
        if c.normalize == "layer_norm" { reference.normalization = .layerNorm }
        if c.normalize == "constant_norm_rescale" { reference.normalization = .unitNorm }
        try CheckpointBytes.write(CheckpointBytes.safetensors(tensors), to: folder + "/sae_weights.safetensors")
        var config: [String: Any] = ["architecture": c.architecture, "d_in": d, "d_sae": n, "dtype": "float32",
                                     "apply_b_dec_to_input": !transcoder, "normalize_activations": c.normalize,
                                     "metadata": ["hook_name": "blocks.3.hook_resid_post", "sae_lens_version": "6.54.12"]]
        if c.architecture == "topk" { config["k"] = 4 }
        if transcoder { config["d_out"] = c.dOut }
        try FamilyTests.json(config, to: folder + "/cfg.json")
        try FamilyTests.check(folder, format: .saelens, reference, label: "saelens \(c)")
    }

    // MARK: Gemma Scope 2

    @Test("Gemma Scope 2 SAEs and transcoders", arguments: [("resid_post", "F32", false), ("resid_post", "BF16", false),
                                                            ("transcoder", "F32", true)])
    func gemmaScope2(_ site: String, _ dtype: String, _ affine: Bool) throws {
        let n = 53, dOut = site == "transcoder" ? 23 : d
        var v = FamilyTests.Values(rng: SeededGenerator(seed: 12), dtype: dtype)
        let wEnc = v.next(d * n, 0.4), wDec = v.next(n * dOut, 1), bEnc = v.next(n, 0.3, -0.2), bDec = v.next(dOut, 0.2)
        let threshold = v.next(n, 0.1, 0.3).map(abs)
        let folder = FamilyTests.folder("gemma-scope-2-\(dtype)/\(site)/layer_3_width_16k_l0_small\(affine ? "_affine" : "")")
        var tensors = [FamilyTests.tensor("w_enc", wEnc, [d, n], dtype), FamilyTests.tensor("w_dec", wDec, [n, dOut], dtype),
                       FamilyTests.tensor("b_enc", bEnc, [n], dtype), FamilyTests.tensor("b_dec", bDec, [dOut], dtype),
                       FamilyTests.tensor("threshold", threshold, [n], dtype)]
        if affine { tensors.append(FamilyTests.tensor("affine_skip_connection", v.next(d * dOut, 0.1), [d, dOut], dtype)) }
        try CheckpointBytes.write(CheckpointBytes.safetensors(tensors), to: folder + "/params.safetensors")
        try FamilyTests.json(["architecture": "jump_relu", "width": n, "l0": 20, "type": "sae",
                              "hf_hook_point_in": "model.layers.3.pre_feedforward_layernorm.output",
                              "hf_hook_point_out": site == "transcoder" ? "model.layers.3.post_feedforward_layernorm.output"
                                  : "model.layers.3.pre_feedforward_layernorm.output"], to: folder + "/config.json")
        let reference = Ref(features: n, dOut: dOut, wEnc: FamilyTests.doubles(FamilyTests.transposed(wEnc, d, n)),
                            bias: FamilyTests.doubles(bEnc), wDec: FamilyTests.doubles(wDec), activation: .jump(FamilyTests.doubles(threshold)))
        try FamilyTests.check(folder, format: .gemmaScope2, reference, label: "gemma-scope-2 \(site) \(dtype)")
        #expect(try SAECheckpoint.open(folder).details.contains(.init("site", site)))
    }

    // MARK: sparsify

    @Test("sparsify TopK and GroupMax coders", arguments: [("topk", "F32", false, false), ("topk", "BF16", true, false),
                                                            ("groupmax", "F32", false, false), ("topk", "F32", false, true)])
    func sparsify(_ activation: String, _ dtype: String, _ decoderColumns: Bool, _ transcode: Bool) throws {
        let n = activation == "groupmax" ? 57 : 53, k = activation == "groupmax" ? 3 : 5
        var v = FamilyTests.Values(rng: SeededGenerator(seed: 13), dtype: dtype)
        let wEnc = v.next(n * d, 0.4), wDec = v.next(n * d, 1), bEnc = v.next(n, 0.3, -0.2), bDec = v.next(d, 0.2)
        let folder = FamilyTests.folder("sparsify-\(activation)-\(dtype)-\(decoderColumns)-\(transcode)/layers.3")
        try CheckpointBytes.write(CheckpointBytes.safetensors([
            FamilyTests.tensor("encoder.weight", wEnc, [n, d], dtype), FamilyTests.tensor("encoder.bias", bEnc, [n], dtype),
            decoderColumns ? FamilyTests.tensor("W_dec", FamilyTests.transposed(wDec, n, d), [d, n], dtype)
                : FamilyTests.tensor("W_dec", wDec, [n, d], dtype),
            FamilyTests.tensor("b_dec", bDec, [d], dtype),
        ]), to: folder + "/sae.safetensors")
        try FamilyTests.json(["d_in": d, "num_latents": n, "k": k, "activation": activation, "normalize_decoder": true,
                              "transcode": transcode, "skip_connection": false, "multi_topk": false], to: folder + "/cfg.json")
        let reference = Ref(features: n, dOut: d, wEnc: FamilyTests.doubles(wEnc), bias: FamilyTests.doubles(bEnc),
                            wDec: FamilyTests.doubles(wDec), activation: activation == "groupmax" ? .groupMax(k) : .topK(k),
                            subtract: transcode ? nil : FamilyTests.doubles(bDec))
        try FamilyTests.check(folder, format: .sparsify, reference, label: "sparsify \(activation) \(dtype) columns \(decoderColumns) transcode \(transcode)")
    }

    // MARK: Llama Scope R1

    @Test("Llama Scope R1 JumpReLU with the decoder norm in the threshold", arguments: [("F32", false), ("BF16", true)])
    func llamaScopeR1(_ dtype: String, _ subtract: Bool) throws {
        let n = 53
        var v = FamilyTests.Values(rng: SeededGenerator(seed: 14), dtype: dtype)
        let wEnc = v.next(n * d, 0.4), wDec = v.next(n * d, 0.5), bEnc = v.next(n, 0.3, -0.2), bDec = v.next(d, 0.2)
        let logThreshold = v.next(n, 0.3, -0.5)
        let folder = FamilyTests.folder("llama-scope-r1-\(dtype)/L3R")
        let hook = "blocks.3.hook_resid_post"
        try CheckpointBytes.write(CheckpointBytes.safetensors([
            FamilyTests.tensor("encoder.weight", wEnc, [n, d], dtype), FamilyTests.tensor("encoder.bias", bEnc, [n], dtype),
            FamilyTests.tensor("decoder.weight", FamilyTests.transposed(wDec, n, d), [d, n], dtype),
            FamilyTests.tensor("decoder.bias", bDec, [d], dtype),
            FamilyTests.tensor("log_jumprelu_threshold", logThreshold, [n], "F32"),
            FamilyTests.tensor("dataset_average_activation_norm.\(hook)", [6.5], [], "F32"),
        ]), to: folder + "/sae_weights.safetensors")
        try FamilyTests.json(["d_model": d, "expansion_factor": 0, "d_sae": n, "act_fn": "jumprelu", "hook_point_in": hook,
                              "hook_point_out": hook, "norm_activation": "dataset-wise", "sparsity_include_decoder_norm": true,
                              "apply_decoder_bias_to_pre_encoder": subtract], to: folder + "/config.json")
        let norms = (0..<n).map { f in (0..<d).reduce(0.0) { $0 + Double(wDec[f * d + $1]) * Double(wDec[f * d + $1]) }.squareRoot() }
        let reference = Ref(features: n, dOut: d, wEnc: FamilyTests.doubles(wEnc), bias: FamilyTests.doubles(bEnc),
                            wDec: FamilyTests.doubles(wDec),
                            activation: .jump((0..<n).map { exp(Double(logThreshold[$0])) / norms[$0] }),
                            subtract: subtract ? FamilyTests.doubles(bDec) : nil, scale: Double(Float(Double(d).squareRoot() / 6.5)))
        try FamilyTests.check(folder, format: .llamaScopeR1, reference, label: "llama-scope-r1 \(dtype) subtract \(subtract)")
    }
}
