import Foundation

/// A Report as one self-contained HTML page: inline CSS and SVG, no script and no external
/// reference (no font, image or link to fetch), so that it opens from disk, offline, and a hostile
/// dataset cannot make it do anything. Everything taken from the inputs is escaped (HTMLText).
/// Elements carry `data-` attributes with the exact figures, for tests and for scraping.
public enum HTMLReport {
    public static func render(_ report: Report) -> String {
        var html = """
        <!DOCTYPE html>
        <html lang="en">
        <head>
        <meta charset="utf-8">
        <meta name="viewport" content="width=device-width, initial-scale=1">
        <meta name="generator" content="saegeo \(HTMLText.escape(report.provenance.version))">
        <title>saegeo report</title>
        <style>\(style)</style>
        </head>
        <body>
        <h1>saegeo report</h1>
        <p class="lead">How close the samples' SAE features sit to toxic features. Made by saegeo \(HTMLText.escape(report.provenance.version)) on \(timestamp(report.provenance.created)).</p>

        """
        html += scoresSection(report)
        html += nullSection(report)
        html += riskiestSection(report)
        html += neighboursSection(report)
        html += contrastSection(report)
        html += provenanceSection(report.provenance)
        return html + "</body>\n</html>\n"
    }

    static func scoresSection(_ report: Report) -> String {
        guard let s = report.scores else { return section("scores", "Score distribution", "<p class=\"note\">No scores were given (--scores).</p>\n") }
        var body = "<p id=\"cut\" data-samples=\"\(s.samples)\" data-kept=\"\(s.kept)\" data-dropped=\"\(s.dropped)\" data-cut=\"\(s.cutScore.map { String(describing: $0) } ?? "")\">"
        body += "<b>\(HTMLText.count(s.samples))</b> samples, mean score \(HTMLText.number(s.meanScore)). Dropping the fraction \(HTMLText.escape(String(s.dropFraction))) "
        body += "(ceil(q N) = \(HTMLText.count(s.dropped)) samples, as <code>saegeo filter --drop-fraction \(HTMLText.escape(String(s.dropFraction)))</code> does): "
        body += "<span class=\"kept\">kept \(HTMLText.count(s.kept))</span>, <span class=\"dropped\">dropped \(HTMLText.count(s.dropped))</span>"
        if let cut = s.cutScore {
            body += "; the cut is at score <b>\(HTMLText.escape(String(describing: cut)))</b>: every sample above it is dropped"
            body += s.tiesAtCut > 1 ? ", and \(HTMLText.count(s.tiesDropped)) of the \(HTMLText.count(s.tiesAtCut)) samples scoring exactly it (the lowest-numbered)." : ", and the one sample scoring it."
        } else {
            body += "; nothing is dropped."
        }
        body += "</p>\n" + ReportCharts.histogram(s)
        body += "<p class=\"legend\"><span class=\"swatch kept\"></span> kept <span class=\"swatch dropped\"></span> dropped (\(s.histogram.binCount) bins from \(HTMLText.number(Double(s.histogram.lowest))) to \(HTMLText.number(Double(s.histogram.highest))); hover a bar for its counts)</p>\n"
        return section("scores", "Score distribution", body)
    }

    static func nullSection(_ report: Report) -> String {
        guard let n = report.null else {
            return section("null", "Dataset against the null", "<p class=\"note\">No summary was given (--summary; score writes it).</p>\n")
        }
        var body = "<p id=\"null-figures\" data-mean-proximity=\"\(n.meanProximity)\" data-null-mean=\"\(n.nullMean)\" data-null-std=\"\(n.nullStd)\" data-z=\"\(n.zScore.map { String($0) } ?? "")\" data-leans-toxic=\"\(n.leansToxic.map { String($0) } ?? "")\">"
        body += "The dataset's activation-weighted mean toxic proximity is <b>\(HTMLText.number(n.meanProximity))</b>"
        if let interval = n.interval {
            body += " (\(HTMLText.number((n.intervalLevel ?? DatasetSummary.intervalLevel) * 100))% interval over its samples: \(HTMLText.number(interval.low)) to \(HTMLText.number(interval.high)))"
        }
        guard let leans = n.leansToxic else {
            // A summary from before the calibrated test: its null (random non-toxic feature sets)
            // is not calibrated (docs/statistics.md), so no verdict is drawn from its z.
            body += "; \(n.nullSets.map { "\(HTMLText.count($0)) random" } ?? "random") sets of as many non-toxic features give \(HTMLText.number(n.nullMean)) ± \(HTMLText.number(n.nullStd)): "
            body += "z = \(n.zScore.map(HTMLText.number) ?? "n/a"). This summary has no calibrated verdict (no <code>leans_toxic</code>): run <code>saegeo score --summary</code> again for one.</p>\n"
            return section("null", "Dataset against the null", body + ReportCharts.null(n))
        }
        if let r = n.reference {
            body += "; the reference (\(r.samples.map { "\(HTMLText.count($0)) samples" } ?? "ordinary activations")) gives \(HTMLText.number(r.meanProximity)), a difference of \(HTMLText.number(r.difference))"
            body += r.interval.map { " (\(HTMLText.number((n.intervalLevel ?? DatasetSummary.intervalLevel) * 100))% interval \(HTMLText.number($0.low)) to \(HTMLText.number($0.high)))" } ?? ""
            body += "; as many samples drawn at random from both give \(HTMLText.number(n.nullMean)) ± \(HTMLText.number(n.nullStd)) (z = \(n.zScore.map(HTMLText.number) ?? "n/a")). "
        } else {
            body += "; the same activation mass placed on random live features gives \(HTMLText.number(n.nullMean)) ± \(HTMLText.number(n.nullStd)) (z = \(n.zScore.map(HTMLText.number) ?? "n/a")). "
        }
        let alpha = HTMLText.number(n.alpha ?? DatasetSummary.alpha)
        if let p = n.pValue {
            body += (n.reference == nil ? "One-sided permutation test of the interval's lower end" : "One-sided test with the samples relabelled between the dataset and the reference") + ": p = \(HTMLText.number(p)) ± \(HTMLText.number(n.mcError ?? 0)) (Monte Carlo error over \(n.nullSets.map(HTMLText.count) ?? "the") draws), against α = \(alpha): "
            body += leans ? "<b class=\"verdict\">the dataset leans towards the toxic features</b>.</p>\n"
                : "<b class=\"verdict\">no evidence that the dataset leans towards the toxic features</b>.</p>\n"
        } else {
            body += "No null draws were taken (--null-sets 0): <b class=\"verdict\">no verdict</b>.</p>\n"
        }
        return section("null", "Dataset against the null", body + ReportCharts.null(n))
    }

    static func riskiestSection(_ report: Report) -> String {
        guard report.scores != nil else { return "" }
        guard !report.riskiest.isEmpty else { return section("riskiest", "Riskiest samples", "<p class=\"note\">--top 0: no samples shown.</p>\n") }
        var body = "<p>The \(report.riskiest.count) samples of highest score, in the order the filter drops them (score descending, ties to the lower sample).</p>\n"
        body += "<table class=\"samples\">\n<thead><tr><th>#</th><th>sample</th><th>score</th><th>text</th><th>explaining features (proximity, nearest toxic)</th></tr></thead>\n<tbody>\n"
        for (rank, row) in report.riskiest.enumerated() {
            body += "<tr class=\"sample\" data-sample=\"\(row.sample)\" data-score=\"\(row.score)\"><td>\(rank + 1)</td><td>\(row.sample)</td><td>\(HTMLText.number(Double(row.score)))</td>"
            if let text = row.text {
                body += "<td class=\"text\">\(HTMLText.escape(text))\(row.omittedCharacters > 0 ? "<span class=\"note\"> … \(HTMLText.count(row.omittedCharacters)) more characters</span>" : "")</td>"
            } else {
                body += "<td class=\"note\">(no --dataset)</td>"
            }
            let features = row.explanations.map {
                "<li>f\($0.feature): a \(HTMLText.number($0.activation)), p \(HTMLText.number($0.proximity)), nearest toxic <a href=\"#toxic-\($0.nearestToxic)\">\($0.nearestToxic)</a></li>"
            }
            body += features.isEmpty ? "<td class=\"note\">(score --explain)</td>" : "<td><ul class=\"features\">\(features.joined())</ul></td>"
            body += "</tr>\n"
        }
        return section("riskiest", "Riskiest samples", body + "</tbody>\n</table>\n")
    }

    static func neighboursSection(_ report: Report) -> String {
        guard let table = report.neighbours else {
            return section("toxic", "Toxic features and their neighbours", "<p class=\"note\">No neighbours were given (--neighbors; neighbors --queries toxic.txt writes them).</p>\n")
        }
        var body = "<table class=\"neighbours\">\n<thead><tr><th>feature</th><th>nearest neighbours (cosine)</th></tr></thead>\n<tbody>\n"
        for row in table.rows {
            let cells = row.neighbours.map { "<span class=\"neighbour\">\($0.feature) <small>(\(HTMLText.number(Double($0.cosine))))</small></span>" }
            body += "<tr class=\"toxic\" id=\"toxic-\(row.feature)\"><td>\(row.feature)</td><td>\(cells.joined(separator: " "))</td></tr>\n"
        }
        body += "</tbody>\n</table>\n"
        var notes: [String] = []
        if table.queriesLeftOut > 0 { notes.append("\(HTMLText.count(table.queriesLeftOut)) other query rows of the file are not shown") }
        if table.neighboursLeftOut > 0 { notes.append("\(HTMLText.count(table.neighboursLeftOut)) neighbours past the first \(NeighbourFile.shownNeighbours) of a row are not shown") }
        if !table.toxicWithoutRow.isEmpty { notes.append("toxic features without a row in the file: \(table.toxicWithoutRow.map(String.init).joined(separator: ", "))") }
        if !notes.isEmpty { body += "<p class=\"note\">\(notes.joined(separator: "; ")).</p>\n" }
        return section("toxic", "Toxic features and their neighbours", body)
    }

    static func contrastSection(_ report: Report) -> String {
        guard let table = report.contrast else {
            return section("contrast", "Contrast ranking", "<p class=\"note\">No contrast ranking was given (--contrast: contrast's .jsonl or .csv, or any file with the columns feature,t,...).</p>\n")
        }
        var body = "<p>The \(table.rows.count) of \(HTMLText.count(table.features)) features of highest t.</p>\n"
        body += "<table class=\"contrast\">\n<thead><tr><th>feature</th><th>t</th>\(table.columns.map { "<th>\(HTMLText.escape($0))</th>" }.joined())</tr></thead>\n<tbody>\n"
        for row in table.rows {
            body += "<tr class=\"contrast-row\"><td>\(row.feature)</td><td>\(row.t.map(HTMLText.number) ?? "n/a")</td>\(row.values.map { "<td>\(HTMLText.escape($0))</td>" }.joined())</tr>\n"
        }
        return section("contrast", "Contrast ranking", body + "</tbody>\n</table>\n")
    }

    static func provenanceSection(_ p: Provenance) -> String {
        var body = "<table class=\"provenance\">\n<tbody>\n"
        for input in p.inputs {
            body += "<tr class=\"input\"><th>\(HTMLText.escape(input.role))</th><td><code>\(HTMLText.escape(input.path))</code></td><td>\(HTMLText.bytes(input.bytes))</td></tr>\n"
        }
        for option in p.options {
            body += "<tr class=\"option\"><th>\(HTMLText.escape(option.name))</th><td colspan=\"2\">\(HTMLText.escape(option.value))</td></tr>\n"
        }
        body += "<tr><th>saegeo</th><td colspan=\"2\">\(HTMLText.escape(p.version))</td></tr>\n"
        body += "<tr><th>made</th><td colspan=\"2\">\(timestamp(p.created))</td></tr>\n</tbody>\n</table>\n"
        return section("provenance", "How this report was made", body)
    }

    static func section(_ id: String, _ title: String, _ body: String) -> String {
        "<section id=\"\(id)\">\n<h2>\(title)</h2>\n\(body)</section>\n"
    }

    static func timestamp(_ date: Date) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime]
        return formatter.string(from: date)
    }

    static let style = """
    body{font:14px/1.45 system-ui,sans-serif;margin:24px auto;max-width:1100px;padding:0 16px;color:#1d232a}\
    h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:28px 0 8px;border-bottom:1px solid #d6dbe0;padding-bottom:4px}\
    .lead,.note{color:#5b6670}code{font-size:12px}table{border-collapse:collapse;width:100%}\
    th,td{border-bottom:1px solid #e4e8ec;padding:4px 8px;text-align:left;vertical-align:top}\
    td.text{white-space:pre-wrap;word-break:break-word;max-width:520px;font-family:ui-monospace,monospace;font-size:12px}\
    ul.features{margin:0;padding-left:16px;font-size:12px}.neighbour{display:inline-block;margin-right:10px}\
    .chart{width:100%;max-width:760px;height:auto;display:block}.axis{stroke:#6b7680}.axis-label{font-size:11px;fill:#3d4750}\
    .bar{fill:#7aa6c9}.bar-dropped{fill:#d9534f}.cut{stroke:#a02622;stroke-dasharray:4 3;stroke-width:1.5}\
    .cut-label{font-size:12px;fill:#a02622}.band2{fill:#eef3f8}.band1{fill:#d8e5f1}.curve{fill:none;stroke:#4f7ea8;stroke-width:1.5}\
    .null-mean{stroke:#4f7ea8}.observed{stroke:#d9534f;stroke-width:2}.observed-dot{fill:#d9534f}.interval{stroke:#a02622;stroke-width:3}.observed-label{font-size:12px;fill:#a02622}\
    .kept{color:#2f6b9a}.dropped{color:#a02622}.swatch{display:inline-block;width:10px;height:10px;vertical-align:middle}\
    .swatch.kept{background:#7aa6c9}.swatch.dropped{background:#d9534f}tr.toxic:target{background:#fff4d6}
    """
}
