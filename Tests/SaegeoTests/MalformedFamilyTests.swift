import Foundation
import Testing
@testable import SaegeoCore

/// Damaged and hostile checkpoints of the newer families: refused by `neighbors`, `score` and
/// `inspect` with one line naming the problem, exit 1, and no output file.
@Suite(.serialized)
struct MalformedFamilyTests {
    typealias Case = MalformedCheckpointTests.Case
    static let (n, d) = (6, 4)
    static func values(_ count: Int) -> [UInt8] { CheckpointBytes.encode((0..<count).map { Float($0 % 7) - 3 }, as: "F32") }
    static func t(_ name: String, _ shape: [Int]) -> CheckpointBytes.Tensor {
        .init(name: name, dtype: "F32", shape: shape, bytes: values(shape.reduce(1, *)))
    }
    /// Writes tensors and a JSON config into `folder/name/`, returning that folder.
    static func family(_ name: String, weights: String, _ tensors: [CheckpointBytes.Tensor], config: String, configName: String) -> @Sendable (String) throws -> String {
        { folder in
            let path = folder + "/" + name
            try CheckpointBytes.write(CheckpointBytes.safetensors(tensors), to: path + "/" + weights)
            try CheckpointBytes.write(Array(config.utf8), to: path + "/" + configName)
            return path
        }
    }
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures")
    /// A real torch.save checkpoint, copied (and cut to `keep` bytes) under a new name.
    static func torchCopy(_ source: String, _ name: String, keep: Int? = nil, config: String? = nil) -> @Sendable (String) throws -> String {
        { folder in
            let bytes = try [UInt8](Data(contentsOf: fixtures.appendingPathComponent(source)))
            let path = folder + "/" + name
            try CheckpointBytes.write(keep.map { Array(bytes.prefix($0)) } ?? bytes, to: path)
            if let config { try CheckpointBytes.write(Array(config.utf8), to: PathName.folder(path) + "/config.json") }
            return path
        }
    }

    static let cases: [Case] = [
        Case(description: "sparsify latents disagree with cfg", expected: "num_latents", write: family(
            "sparsify-n", weights: "sae.safetensors", [t("encoder.weight", [n, d]), t("encoder.bias", [n]), t("W_dec", [n, d]), t("b_dec", [d])],
            config: "{\"d_in\": 4, \"num_latents\": 8, \"k\": 2}", configName: "cfg.json")),
        Case(description: "sparsify decoder of another width", expected: "no axis", write: family(
            "sparsify-w", weights: "sae.safetensors", [t("encoder.weight", [n, d]), t("encoder.bias", [n]), t("W_dec", [5, d]), t("b_dec", [d])],
            config: "{\"d_in\": 4, \"k\": 2}", configName: "cfg.json")),
        Case(description: "Gemma Scope 2 without threshold", expected: "'threshold' is missing", write: family(
            "gs2", weights: "params.safetensors", [t("w_enc", [d, n]), t("w_dec", [n, d]), t("b_enc", [n]), t("b_dec", [d])],
            config: "{\"architecture\": \"jump_relu\"}", configName: "config.json")),
        Case(description: "Gemma Scope 2 crosscoder decoder", expected: "crosscoder", write: family(
            "gs2-x", weights: "params.safetensors", [t("w_enc", [d, n]), t("w_dec", [n, 3, d]), t("b_enc", [n]), t("b_dec", [d])],
            config: "{\"architecture\": \"jump_relu\"}", configName: "config.json")),
        Case(description: "Gemma Scope 2 cross-layer transcoder", expected: "cross-layer transcoder", write: family(
            "gs2-clt", weights: "params_layer_0.safetensors", [t("w_enc", [d, n]), t("w_dec", [n, 2, d])],
            config: "{\"architecture\": \"jump_relu\"}", configName: "config.json")),
        Case(description: "Gemma Scope 2 width disagrees", expected: "width is 9", write: family(
            "gs2-w", weights: "params.safetensors", [t("w_enc", [d, n]), t("w_dec", [n, d]), t("b_enc", [n]), t("b_dec", [d]), t("threshold", [n])],
            config: "{\"architecture\": \"jump_relu\", \"width\": 9}", configName: "config.json")),
        Case(description: "Llama Scope R1 without threshold", expected: "log_jumprelu_threshold", write: family(
            "r1", weights: "sae_weights.safetensors", [t("encoder.weight", [n, d]), t("encoder.bias", [n]), t("decoder.weight", [d, n]), t("decoder.bias", [d])],
            config: "{\"d_model\": 4, \"act_fn\": \"jumprelu\"}", configName: "config.json")),
        Case(description: "Llama Scope R1 d_model disagrees", expected: "d_model is 5", write: family(
            "r1-d", weights: "sae_weights.safetensors", [t("encoder.weight", [n, d]), t("encoder.bias", [n]), t("decoder.weight", [d, n]), t("decoder.bias", [d])],
            config: "{\"d_model\": 5}", configName: "config.json")),
        Case(description: "SAELens unknown architecture", expected: "architecture 'sparse_magic' is not supported", write: family(
            "sl-a", weights: "sae_weights.safetensors", [t("W_enc", [d, n]), t("W_dec", [n, d]), t("b_enc", [n]), t("b_dec", [d])],
            config: "{\"architecture\": \"sparse_magic\"}", configName: "cfg.json")),
        Case(description: "SAELens gated with a damaged r_mag", expected: "'r_mag' has shape [5]", write: family(
            "sl-g", weights: "sae_weights.safetensors", [t("W_enc", [d, n]), t("W_dec", [n, d]), t("b_gate", [n]), t("b_mag", [n]), t("r_mag", [5]), t("b_dec", [d])],
            config: "{\"architecture\": \"gated\"}", configName: "cfg.json")),
        Case(description: "SAELens transcoder subtracting b_dec", expected: "never subtracts", write: family(
            "sl-t", weights: "sae_weights.safetensors", [t("W_enc", [d, n]), t("W_dec", [n, 5]), t("b_enc", [n]), t("b_dec", [5])],
            config: "{\"architecture\": \"transcoder\", \"apply_b_dec_to_input\": true}", configName: "cfg.json")),
        Case(description: "dictionary_learning size disagrees", expected: "dict_size is 99", write: torchCopy(
            "families/dictionary-learning/resid_post_layer_3/trainer_0/ae.pt", "dl-size/ae.pt",
            config: "{\"trainer\": {\"dict_class\": \"AutoEncoder\", \"dict_size\": 99}}")),
        Case(description: "dictionary_learning class without its keys", expected: "'gate_bias' is missing", write: torchCopy(
            "families/dictionary-learning/resid_post_layer_3/trainer_0/ae.pt", "dl-class/ae.pt",
            config: "{\"trainer\": {\"dict_class\": \"GatedAutoEncoder\"}}")),
        Case(description: "truncated .pt archive", expected: "goodfire-cut.pth", write: torchCopy(
            "families/goodfire/Test-SAE-l3-f32.pth", "goodfire-cut.pth", keep: 4000)),
        Case(description: "pickle calling os.system", expected: "os.system", write: torchCopy(
            "torch/hostile_os_system.pt", "hostile.pt")),
    ]

    @Test("refused with one line, exit 1, no output", arguments: cases)
    func refused(_ bad: Case) throws {
        try MalformedCheckpointTests.expectRefused(bad, in: TestFiles.path("malformed-family"))
    }
}
