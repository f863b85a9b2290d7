import ArgumentParser
import SaegeoCore

/// `neighbors --keys-sae B`: the keys come from a second dictionary, read like `--sae` (any family,
/// format and dtype); `--keys-format`, `--keys-tensor` and `--keys-layout` are `--format`,
/// `--tensor` and `--layout` for B, so that two bare matrices with different names or layouts work.
struct CrossDictionaryOptions: ParsableArguments {
    @Option(name: .customLong("keys-sae"), help: "A second SAE whose features are the keys (same d_model as --sae): neighbours of --sae's features among its features. --keys then lists its ids.")
    var keysSAE: String?

    @Option(name: .customLong("keys-format"), help: ArgumentHelp("--format for --keys-sae.", valueName: "format"))
    var keysFormat: SAECheckpoint.Format?

    @Option(name: .customLong("keys-tensor"), help: "--tensor for a bare --keys-sae matrix.")
    var keysTensor: String?

    @Option(name: .customLong("keys-layout"), help: "--layout for a bare --keys-sae matrix.")
    var keysLayout: FeatureMatrix.Layout?

    @Option(help: "With --keys-sae: also write the mutual nearest pairs (a of --sae, b of --keys-sae, each the other's top-1) to PAIRS.csv (a,b,cosine) or PAIRS.safetensors.")
    var mutual: String?

    @Option(name: .customLong("min-cosine"), parsing: .unconditional,
            help: "With --mutual: the summary also gives the share of the queries in a pair of at least this cosine (default 0.7).", transform: NumberArgument.float)
    var minCosineOption: Float?

    /// Optional as declared so that a --min-cosine without --mutual (which it would not change) is seen.
    var minCosine: Float { minCosineOption ?? 0.7 }

    /// The refusals that need no file: the B-only options without B, --mutual without B.
    func validate(shard: String?) throws {
        if keysSAE == nil {
            let stray = [("--keys-format", keysFormat != nil), ("--keys-tensor", keysTensor != nil),
                         ("--keys-layout", keysLayout != nil), ("--mutual", mutual != nil)].filter(\.1).map(\.0)
            if let first = stray.first {
                throw SaegeoError(.usage, "\(first) is for neighbours across two dictionaries: add --keys-sae PATH, or drop it")
            }
        }
        if minCosineOption != nil, mutual == nil {
            throw SaegeoError(.usage, "--min-cosine sets a cut in the summary of the mutual pairs, and there is no --mutual: add --mutual PAIRS, or drop --min-cosine")
        }
        if mutual != nil, shard != nil {
            throw SaegeoError(.usage, "--mutual needs every query's top-1 and cannot run with --shard: run it without --shard (or shard without --mutual)")
        }
        guard minCosine.isFinite, (-1...1).contains(minCosine) else {
            throw SaegeoError(.usage, "--min-cosine \(minCosine) is not a cosine between -1 and 1")
        }
    }

    /// B as a job opens it, with B's own format, tensor and layout (nil without --keys-sae).
    var source: SAESource? {
        keysSAE.map { SAESource(path: $0, format: keysFormat, tensor: keysTensor, layout: keysLayout,
                                optionNames: ("--keys-tensor", "--keys-layout")) }
    }
}
