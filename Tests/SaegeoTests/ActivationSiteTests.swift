import Foundation
import Testing
@testable import SaegeoCore

/// `inspect` says which hidden state or hook an SAE reads, in one form for every family: the
/// off-by-one between `hidden_states[L]` and block L's output is what issue 22 found in the README.
struct ActivationSiteTests {
    @Test("hook names of every dialect become the hidden_states index or module to hook")
    func hooks() {
        let post = "hidden_states[21] of the model (the output of block 20, resid_post)"
        for hook in ["blocks.20.hook_resid_post", "model.layers.20.output", "model.layers.20", "layers.20"] {
            #expect(ActivationSite.line(hook: hook, path: "x", format: .saelens).hasPrefix(post), "\(hook)")
        }
        #expect(ActivationSite.line(hook: "blocks.5.hook_resid_pre", path: "x", format: .saelens)
            .hasPrefix("hidden_states[5] of the model (the input of block 5, resid_pre)"))
        #expect(ActivationSite.line(hook: "blocks.3.attn.hook_z", path: "x", format: .saelens).contains("model.model.layers[3].self_attn.o_proj"))
        #expect(ActivationSite.line(hook: "model.layers.3.pre_feedforward_layernorm.output", path: "x", format: .gemmaScope2)
            .hasPrefix("the output of model.model.layers[3].pre_feedforward_layernorm: a forward hook on it"))
        #expect(ActivationSite.line(hook: "my.custom.site", path: "x", format: .saelens).contains("'my.custom.site'"))
        #expect(ActivationSite.line(hook: nil, path: "W.npy", format: .npy).hasPrefix("not recorded in the checkpoint"))
    }

    @Test("families whose files name no hook: the site from the path")
    func paths() {
        let gemma = ActivationSite.line(hook: nil, path: "gemma-scope-2b-pt-res/layer_20/width_16k/average_l0_71/params.npz", format: .gemmaScope)
        #expect(gemma.hasPrefix("hidden_states[21] of the model (the output of block 20, resid_post)"))
        #expect(gemma.hasSuffix("[from the path]"))
        #expect(ActivationSite.line(hook: nil, path: "gemma-scope-9b-pt-mlp/layer_7/width_16k/x/params.npz", format: .gemmaScope)
            .hasPrefix("the output of block 7's MLP"))
        #expect(ActivationSite.line(hook: nil, path: "SAE-Res/layer12.sae.pt", format: .qwenScope).hasPrefix("hidden_states[13]"))
        #expect(ActivationSite.line(hook: nil, path: "Llama-3.1-8B-Instruct-SAE-l19.pth", format: .goodfire).hasPrefix("hidden_states[20]"))
        #expect(ActivationSite.line(hook: nil, path: "dl/resid_post_layer_3/trainer_1/ae.pt", format: .dictionaryLearning).hasPrefix("hidden_states[4]"))
        // A Gemma Scope file moved out of its release folder: the layer alone does not say the site.
        #expect(ActivationSite.line(hook: nil, path: "layer_20/params.npz", format: .gemmaScope).hasPrefix("not recorded"))
    }

    @Test("inspect prints the reads line for a SAELens checkpoint's hook_name, and --json carries it")
    func inspectPrintsReads() throws {
        let d = 6, n = 9
        var v = FamilyTests.Values(rng: SeededGenerator(seed: 3), dtype: "F32")
        let folder = FamilyTests.folder("activation-site-saelens")
        try CheckpointBytes.write(CheckpointBytes.safetensors([
            FamilyTests.tensor("W_enc", v.next(d * n, 0.4), [d, n], "F32"), FamilyTests.tensor("W_dec", v.next(n * d, 1), [n, d], "F32"),
            FamilyTests.tensor("b_enc", v.next(n, 0.1), [n], "F32"), FamilyTests.tensor("b_dec", v.next(d, 0.1), [d], "F32"),
        ]), to: folder + "/sae_weights.safetensors")
        try FamilyTests.json(["architecture": "standard", "d_in": d, "d_sae": n, "apply_b_dec_to_input": true,
                              "metadata": ["hook_name": "blocks.20.hook_resid_post", "sae_lens_version": "6.5.0"]],
                             to: folder + "/cfg.json")
        let text = try CommandRunner.saegeo(["inspect", folder])
        #expect(text.status == 0, "\(text.stderr)")
        #expect(text.stdout.contains("\nreads         hidden_states[21] of the model (the output of block 20, resid_post); a forward hook on model.model.layers[20] reads the same [hook 'blocks.20.hook_resid_post' in the checkpoint]\n"), "\(text.stdout)")
        let json = try CommandRunner.saegeo(["inspect", folder, "--json"])
        let object = try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any]
        let reads = (object?["details"] as? [String: String])?["reads"]
        #expect(reads?.hasPrefix("hidden_states[21]") == true, "\(json.stdout)")
    }
}
