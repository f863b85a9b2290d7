import Foundation

/// What a report is made from: any of score's outputs, neighbors' output, a contrast ranking and the
/// dataset, with the options that shape it. `build()` reads them into a Report (streaming the large
/// ones), checking that they belong together; it writes nothing.
public struct ReportRequest: Sendable {
    public var scores: String?
    public var summary: String?
    public var neighbours: String?
    public var contrast: String?
    public var dataset: String?
    public var sae: String?
    public var toxic: String?
    public var dropFraction = 0.05
    public var top = 50
    public var bins = 60
    public var version = ""
    /// When the report says it was made (the command takes SOURCE_DATE_EPOCH, so that two
    /// reports of the same inputs can be compared byte for byte).
    public var created = Date()

    public init() {}

    /// Every input file given, with the option that named it (the SAE may be a folder).
    public var inputs: [(role: String, path: String)] {
        [("--scores", scores), ("--summary", summary), ("--neighbors", neighbours), ("--contrast", contrast),
         ("--dataset", dataset), ("--sae", sae), ("--toxic", toxic)].compactMap { role, path in path.map { (role, $0) } }
    }

    public func build() throws -> Report {
        guard scores != nil || summary != nil || neighbours != nil || contrast != nil else {
            throw SaegeoError(.usage, "nothing to report: give --scores, --summary, --neighbors or --contrast (or several)")
        }
        guard dataset == nil || scores != nil else {
            throw SaegeoError(.usage, "--dataset gives the texts of the riskiest samples, which come from --scores: give --scores too")
        }
        guard toxic == nil || neighbours != nil else {
            throw SaegeoError(.usage, "--toxic picks the rows of --neighbors to show, and there is no --neighbors: give it too, or drop --toxic")
        }
        guard top >= 0 else { throw SaegeoError(.usage, "--top must not be negative (got \(top))") }
        guard (1...1000).contains(bins) else { throw SaegeoError(.usage, "--bins must be between 1 and 1000 (got \(bins))") }
        _ = try SampleFilter.dropCount(samples: 1, fraction: dropFraction)   // the range check, before any reading
        for (role, path) in inputs { try InputFile.requireExisting(path, what: role, folderAllowed: role == "--sae") }

        var report = Report(provenance: provenance())
        let toxicIds = try toxic.map { try FeatureSelection.file($0).resolve(features: Int.max, role: "toxic") }
        if let scores {
            let (overview, riskiest) = try ScoreDistribution.read(scores, dropFraction: dropFraction, top: top, bins: bins)
            report.scores = overview
            report.riskiest = riskiest
            if let dataset {
                let texts = try SampleTexts.pick(Set(riskiest.map(\.sample)), from: dataset, expected: overview.samples)
                for i in report.riskiest.indices {
                    let picked = texts[report.riskiest[i].sample]
                    report.riskiest[i].text = picked?.text
                    report.riskiest[i].omittedCharacters = picked?.omitted ?? 0
                }
            }
        }
        if let summary {
            let figures = try SummaryFigures.read(summary)
            if let samples = figures.samples, let scored = report.scores?.samples, samples != scored {
                throw SaegeoError.badInput("\(summary) describes \(samples) samples but \(scores ?? "the scores") holds \(scored); give the summary of the same score run")
            }
            report.null = figures
        }
        if let neighbours {
            report.neighbours = try NeighbourFile.read(neighbours, toxic: toxicIds, rowLimit: max(top, toxicIds?.count ?? 0))
        }
        if let contrast { report.contrast = try ContrastFile.read(contrast, limit: top) }
        return report
    }

    func provenance() -> Provenance {
        let inputs = self.inputs.map { role, path in Provenance.Input(role: role, path: path, bytes: Self.size(of: path)) }
        return Provenance(inputs: inputs, options: [
            ("--drop-fraction", String(dropFraction)), ("--top", String(top)), ("--bins", String(bins)),
        ], version: version, created: created)
    }

    /// A file's size, or the total of a checkpoint folder's files (two levels, as jobs count them).
    static func size(of path: String) -> Int? {
        let files = FileIdentity.files(of: path)
        var total = 0
        for file in files {
            guard let size = (try? FileManager.default.attributesOfItem(atPath: file))?[.size] as? NSNumber else { return nil }
            total += size.intValue
        }
        return total
    }
}
