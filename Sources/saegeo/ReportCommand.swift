import ArgumentParser
import Foundation
import SaegeoCore

/// `saegeo report`: one self-contained HTML page from the outputs of score, neighbors (and a
/// contrast ranking) and the dataset. The reading and the rendering live in SaegeoCore/Report; this
/// file only parses, checks the paths through a Job and writes the page atomically.
struct ReportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report",
        abstract: "Write one self-contained HTML report (inline SVG and CSS, no script) of a scoring run.",
        discussion: """
        Give any of --scores, --summary, --neighbors and --contrast. The histogram marks the cut that \
        'saegeo filter --drop-fraction Q' makes (the same kept and dropped counts); the riskiest --top \
        samples show their text from --dataset (line i is sample i) and their explaining features \
        (score --explain). Large score files are streamed twice; only the shown samples are kept.
        """)

    @Option(help: "Scores from 'saegeo score': .jsonl (with --explain lines), .csv or .safetensors.")
    var scores: String?

    @Option(help: "score --summary's JSON: the dataset's mean toxic proximity and its null.")
    var summary: String?

    @Option(help: "neighbors' .safetensors output: the toxic features' nearest neighbours.")
    var neighbors: String?

    @Option(help: "A per-feature contrast ranking: .jsonl or .csv with columns feature,t,... (contrast's output).")
    var contrast: String?

    @Option(help: "The dataset (.jsonl, line i is sample i): texts of the riskiest samples.")
    var dataset: String?

    @Option(help: "The SAE the scores came from (named in the report's provenance).")
    var sae: String?

    @Option(help: "Toxic feature ids, one per line: picks the neighbours' rows to show.")
    var toxic: String?

    @Option(name: .customLong("drop-fraction"), parsing: .unconditional, help: "Fraction Q whose cut the histogram of --scores marks, as filter drops it (default 0.05).", transform: NumberArgument.double)
    var dropFraction: Double?

    @Option(parsing: .unconditional, help: "Riskiest samples (and contrast features, neighbour rows) shown.", transform: NumberArgument.int)
    var top = 50

    @Option(parsing: .unconditional, help: "Bins of the score histogram.", transform: NumberArgument.int)
    var bins = 60

    @Option(name: .short, help: "The report: an .html file (written atomically).")
    var output: String

    func run() throws {
        try Saegeo.reporting {
            var request = ReportRequest()
            request.scores = scores
            request.summary = summary
            request.neighbours = neighbors
            request.contrast = contrast
            request.dataset = dataset
            request.sae = sae
            request.toxic = toxic
            if let dropFraction {
                guard scores != nil else {
                    throw SaegeoError(.usage, "--drop-fraction marks a cut in the histogram of --scores, and there is no --scores: give it too, or drop --drop-fraction")
                }
                request.dropFraction = dropFraction
            }
            request.top = top
            request.bins = bins
            request.version = Saegeo.version
            // The reproducible-builds convention: a fixed "made" time makes the report a pure
            // function of its inputs (the Slurm test compares a merged run's report with a single run's).
            if let epoch = ProcessInfo.processInfo.environment["SOURCE_DATE_EPOCH"] {
                guard epoch.allSatisfy(\.isASCII), epoch.allSatisfy(\.isNumber), let seconds = Int64(epoch), seconds <= 253_402_300_799 else {
                    throw SaegeoError(.usage, "SOURCE_DATE_EPOCH is '\(TerminalText.safe(epoch))'; it must be whole seconds since 1970 up to year 9999, or unset")
                }
                request.created = Date(timeIntervalSince1970: Double(seconds))
            }
            let job = try Job("report", inputs: request.inputs.map(\.path), outputs: [("-o", output)])
            let lower = output.lowercased()
            guard lower.hasSuffix(".html") || lower.hasSuffix(".htm") || OutputTarget.isStream(output) else {
                throw SaegeoError(.usage, "-o \(output): the report is HTML; name it .html")
            }
            let started = Date()
            let html = HTMLReport.render(try request.build())
            try job.write(output) { try $0.write(html) }
            try job.commit()
            Console.info(String(format: "wrote %@ (%d bytes) in %.2f s", output, html.utf8.count, Date().timeIntervalSince(started)))
        }
    }
}
