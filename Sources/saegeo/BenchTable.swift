import Foundation
import SaegeoCore

/// The devices of one or more bench reports as a text table, one row per device.
enum BenchTable {
    static func render(_ reports: [(file: String?, report: BenchReport)]) -> String {
        var header = ["device", "name", "peak GFLOP/s", "bandwidth GB/s", "to device GB/s"]
        header += DeviceBench.dimensions.map { "sim d\($0) GFLOP/s (% peak)" }
        header += DeviceBench.topkSizes.map { "top-\($0) M cand/s" }
        header += ["neighbors rows/s", "-> full size", "score rows/s", "-> full size"]
        var rows: [[String]] = []
        for (file, report) in reports {
            for device in report.devices {
                // Names and ids come from the report file: shown whole, with control characters escaped.
                var row = [TerminalText.safe(file.map { "\(PathName.name($0)):\(device.id)" } ?? device.id),
                           TerminalText.safe(device.name), format(device.peakGflops) + " (\(device.peakKernel))",
                           format(device.bandwidthGbs), device.transferGbs.map(format) ?? "-"]
                row += DeviceBench.dimensions.map { d in
                    guard let g = device.similarityGflops[String(d)] else { return "-" }
                    return format(g) + String(format: " (%.0f%%)", device.similarityPercentOfPeak[String(d)] ?? 0)
                }
                row += DeviceBench.topkSizes.map { k in device.topkCandidatesPerS[String(k)].map { format($0 / 1e6) } ?? "-" }
                for name in ["neighbors", "score"] {
                    if let workload = device.workloads.first(where: { $0.name == name }) {
                        row += [format(workload.rowsPerS), duration(workload.projectedSeconds)]
                    } else {
                        row += ["-", "-"]
                    }
                }
                rows.append(row)
            }
        }
        let widths = header.indices.map { column in ([header] + rows).map { $0[column].count }.max() ?? 0 }
        func line(_ cells: [String]) -> String {
            cells.enumerated().map { $1.padding(toLength: widths[$0], withPad: " ", startingAt: 0) }.joined(separator: "  ")
        }
        var text = line(header) + "\n" + line(widths.map { String(repeating: "-", count: $0) })
        for row in rows { text += "\n" + line(row) }
        let jobs = reports.first?.report.devices.first?.workloads.map { "\($0.name): \($0.fullSize)" } ?? []
        if !jobs.isEmpty { text += "\nfull size = " + jobs.joined(separator: "; ") }
        return text
    }

    static func format(_ value: Double) -> String {
        value >= 100 ? String(format: "%.0f", value) : value >= 10 ? String(format: "%.1f", value) : String(format: "%.2f", value)
    }

    static func duration(_ seconds: Double) -> String {
        seconds < 120 ? String(format: "%.0f s", seconds)
            : seconds < 7200 ? String(format: "%.1f min", seconds / 60)
            : seconds < 172_800 ? String(format: "%.1f h", seconds / 3600) : String(format: "%.1f days", seconds / 86400)
    }
}

/// A grouped bar chart: one panel per figure (peak, similarity at d 2304, end-to-end rows/s of
/// neighbors and score), one bar per device, each panel on its own scale.
enum BenchChart {
    static func svg(_ reports: [(file: String, report: BenchReport)]) -> String {
        let devices = reports.flatMap { file, report in
            report.devices.map { ("\(($0.id)) \($0.name) [\(PathName.name(file))]", $0) }
        }
        let panels: [(String, (BenchReport.DeviceFigures) -> Double)] = [
            ("peak fp32 GFLOP/s", { $0.peakGflops }),
            ("similarity GFLOP/s (d 2304)", { $0.similarityGflops["2304"] ?? 0 }),
            ("neighbors rows/s", { $0.workloads.first { $0.name == "neighbors" }?.rowsPerS ?? 0 }),
            ("score rows/s", { $0.workloads.first { $0.name == "score" }?.rowsPerS ?? 0 }),
        ]
        let colors = ["#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#76b7b2", "#edc948", "#b07aa1", "#ff9da7"]
        // Device names are drawn whole (a cut name hides which of two similar GPUs a bar is), in a
        // monospace font so that the label column can be sized from the text: every glyph of the
        // common monospace fonts (DejaVu, Liberation, Menlo, Consolas) is at most 0.62 em wide.
        let barHeight = 18, gap = 6, barWidth = 360, panelGap = 34
        let longest = devices.map { $0.0.count }.max() ?? 0
        let labelWidth = max(330, 10 + Int((Double(longest) * labelEm * 12).rounded(.up)) + 14)
        let panelHeight = devices.count * (barHeight + gap) + 24
        let width = labelWidth + barWidth + 90, height = panels.count * (panelHeight + panelGap) + 20
        var svg = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(width)\" height=\"\(height)\" font-family=\"sans-serif\" font-size=\"12\">\n"
        svg += "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n"
        for (p, (title, value)) in panels.enumerated() {
            let top = 20 + p * (panelHeight + panelGap)
            svg += "<text x=\"10\" y=\"\(top)\" font-weight=\"bold\">\(escape(title))</text>\n"
            let largest = max(devices.map { value($0.1) }.max() ?? 1, 1e-9)
            for (i, (label, figures)) in devices.enumerated() {
                let y = top + 10 + i * (barHeight + gap)
                let v = value(figures)
                let length = max(1, Int(Double(barWidth) * v / largest))
                svg += "<text x=\"10\" y=\"\(y + 13)\" font-family=\"monospace\">\(escape(label))</text>\n"
                svg += "<rect x=\"\(labelWidth)\" y=\"\(y)\" width=\"\(length)\" height=\"\(barHeight)\" fill=\"\(colors[i % colors.count])\"><title>\(escape(label)): \(BenchTable.format(v))</title></rect>\n"
                svg += "<text x=\"\(labelWidth + length + 6)\" y=\"\(y + 13)\">\(BenchTable.format(v))</text>\n"
            }
        }
        return svg + "</svg>\n"
    }

    /// The widest glyph of a monospace font, in em (DejaVu Sans Mono: 0.602).
    static let labelEm = 0.62

    static func escape(_ text: String) -> String {
        text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
    }
}
