import ArgumentParser
import Foundation
import SaegeoCore

struct Inspect: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Describe an SAE checkpoint from its headers: format, sizes, dtype, architecture, tensors.",
        discussion: "Reads only headers (fast on checkpoints of many GB). --scan also reads the decoder and reports dead features and norm statistics.")

    @Argument(help: "The checkpoint: a folder or file of any family --format lists, or a bare .safetensors / .pt / .npy matrix.")
    var path: String

    @OptionGroup var reading: CheckpointReadingOptions

    @Flag(help: "Print JSON.")
    var json = false

    @Flag(help: "Also read the decoder: dead features and decoder norm statistics.")
    var scan = false

    /// The report is SaegeoCore's, shared with the C interface's saegeo_sae_info_json.
    typealias Report = CheckpointDescription

    func run() throws {
        try Saegeo.reporting {
            let checkpoint = try reading.source(path).open()
            var report = Report(checkpoint, path: path)
            if scan {
                let decoder = try checkpoint.decoder()
                let norms = FeatureNorms(of: decoder, features: Array(0..<decoder.features)).norms
                let dead = norms.indices.filter { norms[$0] == 0 }
                let live = norms.filter { $0 > 0 }
                report.deadFeatures = dead.count
                report.deadFeatureIds = dead
                report.normMin = live.min()
                report.normMax = live.max()
                report.normMean = live.isEmpty ? nil : live.reduce(0, +) / Double(live.count)
            }
            if json {
                try Console.printJSON(report)
            } else {
                print(text(report))
            }
        }
    }

    /// The human-readable form: every text that came from the file goes through TerminalText, so a
    /// tensor named with an ESC sequence shows the escape instead of running it (--json escapes too).
    func text(_ r: Report) -> String {
        let safe: (String) -> String = { TerminalText.safe($0) }
        var lines = [
            "format        \(r.format)",
            "path          \(safe(r.path))",
            "file size     \(r.fileBytes) bytes (\(String(format: "%.2f", Double(r.fileBytes) / Double(1 << 30))) GiB)",
            "d_sae         \(r.dSAE)",
            "d_model       \(r.dModel)",
            "dtype         \(safe(r.dtype)) (decoder)",
            "architecture  \(safe(r.architecture ?? "unknown (bare decoder matrix)"))",
        ]
        for key in r.details.keys.sorted() { lines.append("\(safe(key).padding(toLength: 13, withPad: " ", startingAt: 0)) \(safe(r.details[key]!))") }
        if let encoder = r.encoder { lines.append("encoder       \(safe(encoder))") }
        lines.append("tensors:")
        let width = r.tensors.map { safe($0.name).count }.max() ?? 0
        for t in r.tensors {
            lines.append("  \(safe(t.name).padding(toLength: width, withPad: " ", startingAt: 0))  \(safe(t.dtype).padding(toLength: 4, withPad: " ", startingAt: 0))  \(t.shape)")
        }
        if let dead = r.deadFeatures {
            let ids = (r.deadFeatureIds ?? []).prefix(20).map(String.init).joined(separator: ", ")
            lines.append("dead features \(dead)" + (dead > 0 ? " (\(ids)\(dead > 20 ? ", ..." : ""))" : ""))
            if let lo = r.normMin, let mean = r.normMean, let hi = r.normMax {
                lines.append(String(format: "decoder norms min %.6g, mean %.6g, max %.6g", lo, mean, hi))
            }
        }
        return lines.joined(separator: "\n")
    }
}
