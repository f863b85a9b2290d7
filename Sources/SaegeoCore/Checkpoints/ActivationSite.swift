import Foundation

/// Where in the model an SAE reads its input, said the way a user extracts it with transformers.
///
/// Why this exists: the families name their input in four dialects (TransformerLens
/// `blocks.20.hook_resid_post`, transformers modules `model.layers.20.output`, sparsify's
/// `layers.20`, folder names like Gemma Scope's `layer_20`), and the off-by-one between them is
/// the mistake that gives plausible numbers from the wrong activations: `hidden_states[20]` is the
/// output of block 19, the *input* of block 20. So `inspect` turns whatever the files say into one
/// line naming the `hidden_states` index (for the residual stream) and the module to hook, and
/// says so plainly when the files say nothing.
public enum ActivationSite {
    /// The line `inspect` prints after `reads`, from the hook the files name (`hook`), or else
    /// from the path (Gemma Scope's `gemma-scope-2b-pt-res/layer_20`, Qwen-Scope's `layer20.sae.pt`,
    /// Goodfire's `-l19`, dictionary_learning's `resid_post_layer_3`).
    public static func line(hook: String?, path: String, format: SAECheckpoint.Format) -> String {
        if let hook, let site = site(ofHook: hook) { return describe(site) + " [hook '\(hook)' in the checkpoint]" }
        if let site = site(ofPath: path, format: format) { return describe(site) + " [from the path]" }
        if let hook { return "the hook '\(hook)' as the checkpoint names it (a form saegeo does not translate; see its family's docs)" }
        return "not recorded in the checkpoint; use the site it was trained on (a resid_post SAE at layer L reads hidden_states[L + 1], the output of block L)"
    }

    /// A site: which block, and what of it.
    struct Site: Equatable {
        enum Kind: Equatable {
            case residPost, residPre, mlpOut, attnOut, attnZ
            /// A named submodule's output (`true`) or input (`false`), as transformers names it.
            case module(String, output: Bool)
        }
        let layer: Int
        let kind: Kind
    }

    static func describe(_ s: Site) -> String {
        let L = s.layer
        switch s.kind {
        case .residPost:
            return "hidden_states[\(L + 1)] of the model (the output of block \(L), resid_post); a forward hook on model.model.layers[\(L)] reads the same"
        case .residPre:
            return "hidden_states[\(L)] of the model (the input of block \(L), resid_pre); a forward pre-hook on model.model.layers[\(L)] reads the same"
        case .mlpOut:
            return "the output of block \(L)'s MLP (mlp_out): a forward hook on model.model.layers[\(L)].mlp (Gemma 2 and 3: on model.model.layers[\(L)].post_feedforward_layernorm)"
        case .attnOut:
            return "the output of block \(L)'s attention (attn_out): a forward hook on model.model.layers[\(L)].self_attn (its first output; Gemma 2 and 3: on model.model.layers[\(L)].post_attention_layernorm)"
        case .attnZ:
            return "the attention heads' outputs of block \(L) before o_proj (hook_z): a forward pre-hook on model.model.layers[\(L)].self_attn.o_proj"
        case .module(let name, let output):
            return output ? "the output of model.model.layers[\(L)].\(name): a forward hook on it"
                : "the input of model.model.layers[\(L)].\(name): a forward pre-hook on it"
        }
    }

    /// TransformerLens (`blocks.L.hook_resid_post`, `blocks.L.attn.hook_z`) and transformers
    /// module names (`model.layers.L.output`, `model.layers.L.self_attn.o_proj.input`,
    /// sparsify's `layers.L`, `layers.L.mlp`).
    static func site(ofHook hook: String) -> Site? {
        let parts = hook.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
        if parts.count >= 3, parts[0] == "blocks", let L = Int(parts[1]), L >= 0 {
            switch parts.dropFirst(2).joined(separator: ".") {
            case "hook_resid_post": return Site(layer: L, kind: .residPost)
            case "hook_resid_pre": return Site(layer: L, kind: .residPre)
            case "hook_mlp_out": return Site(layer: L, kind: .mlpOut)
            case "hook_attn_out": return Site(layer: L, kind: .attnOut)
            case "attn.hook_z": return Site(layer: L, kind: .attnZ)
            default: return nil
            }
        }
        // transformers: [model.]layers.L[.submodule...][.output|.input]
        var rest = parts[...]
        if rest.first == "model" { rest = rest.dropFirst() }
        guard rest.count >= 2, rest.first == "layers", let L = Int(rest[rest.startIndex + 1]), L >= 0 else { return nil }
        var tail = Array(rest.dropFirst(2))
        var output = true
        if tail.last == "output" { tail.removeLast() } else if tail.last == "input" { tail.removeLast(); output = false }
        guard !tail.contains(where: \.isEmpty) else { return nil }
        if tail.isEmpty { return Site(layer: L, kind: output ? .residPost : .residPre) }
        return Site(layer: L, kind: .module(tail.joined(separator: "."), output: output))
    }

    /// The site from folder and file names, for families whose files name no hook.
    static func site(ofPath path: String, format: SAECheckpoint.Format) -> Site? {
        let components = path.split(separator: "/").map { String($0).lowercased() }
        switch format {
        case .gemmaScope:
            // gemma-scope-2b-pt-{res,mlp,att}[-canonical]/layer_20/width_16k/average_l0_71/params.npz
            guard let L = components.lazy.compactMap({ number(in: $0, after: "layer_") }).first else { return nil }
            guard let release = components.last(where: { $0.hasPrefix("gemma-scope") }) else { return nil }
            let kinds: [(String, Site.Kind)] = [("-res", .residPost), ("-mlp", .mlpOut), ("-att", .attnZ)]
            guard let kind = kinds.first(where: { release.contains($0.0) })?.1 else { return nil }
            return Site(layer: L, kind: kind)
        case .qwenScope:
            // layer{n}.sae.pt, a resid_post SAE (the model card; SAELens maps it to model.layers.n's output)
            guard let name = components.last, let L = number(in: name, after: "layer") else { return nil }
            return Site(layer: L, kind: .residPost)
        case .goodfire:
            // Llama-3.1-8B-Instruct-SAE-l19.pth: blocks.19.hook_resid_post (SAELens's loader)
            guard let name = components.last, let range = name.range(of: "-sae-l", options: .backwards),
                  let L = number(in: String(name[range.upperBound...]), after: "") else { return nil }
            return Site(layer: L, kind: .residPost)
        case .dictionaryLearning:
            // <submodule>/trainer_N/ae.pt with submodule resid_post_layer_3, mlp_out_layer_3, attn_out_layer_3
            let kinds: [(String, Site.Kind)] = [("resid_post_layer_", .residPost), ("mlp_out_layer_", .mlpOut), ("attn_out_layer_", .attnOut)]
            for component in components.reversed() {
                for (prefix, kind) in kinds where component.hasPrefix(prefix) {
                    if let L = number(in: component, after: prefix) { return Site(layer: L, kind: kind) }
                }
            }
            return nil
        default:
            return nil
        }
    }

    /// The decimal digits right after `prefix` at the start of `text` (`layer_20` -> 20).
    private static func number(in text: String, after prefix: String) -> Int? {
        guard text.hasPrefix(prefix) else { return nil }
        let digits = text.dropFirst(prefix.count).prefix(while: { $0.isASCII && $0.isNumber })
        guard !digits.isEmpty, digits.count < 7 else { return nil }
        return Int(digits)
    }
}
