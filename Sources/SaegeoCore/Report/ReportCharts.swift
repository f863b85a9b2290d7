import Foundation

/// The report's two pictures as inline SVG (no script, no external reference: the file opens from
/// disk anywhere). Coordinates are rounded to 0.1 px so that the markup stays short.
enum ReportCharts {
    static let width = 760.0

    /// The histogram of scores: one `<rect class="bar">` per bin (its height the bin's count), the
    /// dropped part of a bin drawn over it (`bar-dropped`), and the cut as a dashed line.
    static func histogram(_ overview: ScoreOverview) -> String {
        let h = overview.histogram
        let left = 60.0, right = 20.0, top = 20.0, plotHeight = 200.0, bottom = 40.0
        let plotWidth = width - left - right, height = top + plotHeight + bottom
        let tallest = Double(max(1, h.counts.max() ?? 1))
        let barWidth = plotWidth / Double(h.binCount)
        func y(_ count: Int) -> Double {
            // A bin that holds anything stays visible, however tall the others are.
            count == 0 ? 0 : max(1, Double(count) / tallest * plotHeight)
        }
        var svg = "<svg class=\"chart\" viewBox=\"0 0 \(f(width)) \(f(height))\" role=\"img\" aria-label=\"Histogram of \(h.binCount) bins of sample scores\" data-bins=\"\(h.binCount)\">\n"
        svg += axis(left: left, top: top, plotWidth: plotWidth, plotHeight: plotHeight, low: h.edge(0), high: h.edge(h.binCount))
        svg += "<text class=\"axis-label\" x=\"\(f(left - 8))\" y=\"\(f(top + 4))\" text-anchor=\"end\">\(HTMLText.count(Int(tallest)))</text>\n"
        svg += "<text class=\"axis-label\" x=\"\(f(left - 8))\" y=\"\(f(top + plotHeight))\" text-anchor=\"end\">0</text>\n"
        for i in 0..<h.binCount {
            let x = left + Double(i) * barWidth, tall = y(h.counts[i])
            let range = "[\(HTMLText.number(h.edge(i))), \(HTMLText.number(h.edge(i + 1)))\(i == h.binCount - 1 ? "]" : ")")"
            svg += "<rect class=\"bar\" x=\"\(f(x))\" y=\"\(f(top + plotHeight - tall))\" width=\"\(f(max(0.5, barWidth - 1)))\" height=\"\(f(tall))\"><title>scores \(range): \(HTMLText.count(h.counts[i])) samples, \(HTMLText.count(h.dropped[i])) dropped</title></rect>\n"
            if h.dropped[i] > 0 {
                let part = y(h.dropped[i])
                svg += "<rect class=\"bar-dropped\" x=\"\(f(x))\" y=\"\(f(top + plotHeight - part))\" width=\"\(f(max(0.5, barWidth - 1)))\" height=\"\(f(part))\"/>\n"
            }
        }
        if let cut = overview.cutScore {
            let span = h.edge(h.binCount) - h.edge(0)
            let x = left + (span > 0 ? (Double(cut) - h.edge(0)) / span * plotWidth : plotWidth / 2)
            svg += "<line class=\"cut\" x1=\"\(f(x))\" y1=\"\(f(top - 8))\" x2=\"\(f(x))\" y2=\"\(f(top + plotHeight))\"/>\n"
            let anchor = x > left + plotWidth * 0.7 ? "end" : "start"
            svg += "<text class=\"cut-label\" x=\"\(f(x + (anchor == "end" ? -4 : 4)))\" y=\"\(f(top + 2))\" text-anchor=\"\(anchor)\">cut \(HTMLText.escape(String(describing: cut))): \(HTMLText.count(overview.dropped)) dropped</text>\n"
        }
        return svg + "</svg>\n"
    }

    /// The dataset's mean toxic proximity against the null: the null's normal curve with its mean
    /// and the bands of one and two deviations, and the dataset's value marked with z and its
    /// interval over samples.
    /// The narrowest x axis of the null picture, in units of proximity.
    static let minimumSpan = 0.1

    static func null(_ null: NullComparison) -> String {
        let left = 30.0, right = 30.0, top = 30.0, plotHeight = 90.0, bottom = 40.0
        let plotWidth = width - left - right, height = top + plotHeight + bottom
        let sd = null.nullStd
        var low = min(null.nullMean - 4 * sd, null.meanProximity, null.interval?.low ?? .infinity)
        var high = max(null.nullMean + 4 * sd, null.meanProximity, null.interval?.high ?? -.infinity)
        // At least 0.1 of proximity (which spans -1 to 1) across: a narrow null stays a narrow
        // spike, and a difference of a few thousandths does not fill the picture as if it were large.
        if high - low < minimumSpan {
            let middle = (low + high) / 2
            low = middle - minimumSpan / 2; high = middle + minimumSpan / 2
        }
        let pad = (high - low) * 0.05
        low -= pad; high += pad
        func x(_ v: Double) -> Double { left + (v - low) / (high - low) * plotWidth }
        var svg = "<svg class=\"chart\" viewBox=\"0 0 \(f(width)) \(f(height))\" role=\"img\" aria-label=\"Dataset mean toxic proximity against the null distribution\">\n"
        svg += axis(left: left, top: top, plotWidth: plotWidth, plotHeight: plotHeight, low: low, high: high)
        if sd > 0 {
            for (k, name) in [(2.0, "band2"), (1.0, "band1")] {
                let a = x(null.nullMean - k * sd), b = x(null.nullMean + k * sd)
                svg += "<rect class=\"\(name)\" x=\"\(f(a))\" y=\"\(f(top))\" width=\"\(f(b - a))\" height=\"\(f(plotHeight))\"><title>null mean \(k == 1 ? "±1" : "±2") deviation</title></rect>\n"
            }
            // The normal density of the null, peak at the top of the plot.
            let points = (0...120).map { i -> String in
                let v = low + (high - low) * Double(i) / 120
                let density = exp(-0.5 * pow((v - null.nullMean) / sd, 2))
                return "\(f(x(v))),\(f(top + plotHeight - density * (plotHeight - 6)))"
            }
            svg += "<polyline class=\"curve\" points=\"\(points.joined(separator: " "))\"/>\n"
        }
        if let interval = null.interval {
            let y = top + plotHeight / 2
            svg += "<line class=\"interval\" x1=\"\(f(x(interval.low)))\" y1=\"\(f(y))\" x2=\"\(f(x(interval.high)))\" y2=\"\(f(y))\"><title>the dataset's interval over its samples: \(HTMLText.number(interval.low)) to \(HTMLText.number(interval.high))</title></line>\n"
        }
        let mean = x(null.nullMean), value = x(null.meanProximity)
        svg += "<line class=\"null-mean\" x1=\"\(f(mean))\" y1=\"\(f(top))\" x2=\"\(f(mean))\" y2=\"\(f(top + plotHeight))\"/>\n"
        svg += "<text class=\"axis-label\" x=\"\(f(mean))\" y=\"\(f(top - 6))\" text-anchor=\"middle\">null \(HTMLText.number(null.nullMean)) ± \(HTMLText.number(sd))</text>\n"
        svg += "<line class=\"observed\" x1=\"\(f(value))\" y1=\"\(f(top - 4))\" x2=\"\(f(value))\" y2=\"\(f(top + plotHeight))\"/>\n"
        svg += "<circle class=\"observed-dot\" cx=\"\(f(value))\" cy=\"\(f(top + plotHeight / 2))\" r=\"5\"/>\n"
        let anchor = value > left + plotWidth * 0.7 ? "end" : "start"
        svg += "<text class=\"observed-label\" x=\"\(f(value + (anchor == "end" ? -8 : 8)))\" y=\"\(f(top + plotHeight / 2 - 8))\" text-anchor=\"\(anchor)\">dataset \(HTMLText.number(null.meanProximity)), z = \(null.zScore.map(HTMLText.number) ?? "n/a")</text>\n"
        return svg + "</svg>\n"
    }

    /// The frame and the x axis with five labelled ticks.
    static func axis(left: Double, top: Double, plotWidth: Double, plotHeight: Double, low: Double, high: Double) -> String {
        let base = top + plotHeight
        var svg = "<line class=\"axis\" x1=\"\(f(left))\" y1=\"\(f(base))\" x2=\"\(f(left + plotWidth))\" y2=\"\(f(base))\"/>\n"
        for i in 0...4 {
            let x = left + plotWidth * Double(i) / 4
            svg += "<line class=\"axis\" x1=\"\(f(x))\" y1=\"\(f(base))\" x2=\"\(f(x))\" y2=\"\(f(base + 5))\"/>"
            svg += "<text class=\"axis-label\" x=\"\(f(x))\" y=\"\(f(base + 18))\" text-anchor=\"middle\">\(HTMLText.number(low + (high - low) * Double(i) / 4))</text>\n"
        }
        return svg
    }

    static func f(_ value: Double) -> String {
        let rounded = (value * 10).rounded() / 10
        return rounded == rounded.rounded() ? String(Int(rounded)) : String(rounded)
    }
}
