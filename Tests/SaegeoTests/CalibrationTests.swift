import Foundation
import Testing
@testable import SaegeoCore

/// The dataset figure's verdict (`leans_toxic`, docs/statistics.md) is calibrated: on generated
/// pairs of (dictionary with a clustered toxic set and planted near-duplicates, activations
/// unrelated to the toxic set) it fires in at most 5% of them, and on planted risky datasets (10%
/// risky samples) in at least 95%. Each pair is scored in process on the CPU, through the same
/// DatasetScorer and DatasetSummary that `score --summary` runs, with the default number of draws.
@Suite(.serialized)
struct CalibrationTests {
    static let pairs = 100

    /// A generated dictionary (ExampleJob: 4 toxic features, 6 planted near-duplicates each at
    /// cosines 0.9 down to 0.4, the rest random) with its own 10%-risky activations.
    static func job(_ index: Int) -> ExampleJob {
        ExampleJob.inTestFolder("calibration-\(index)", features: 1024, dimension: 64, samples: 300, tokens: 4,
                                seed: 1000 + UInt64(index))
    }

    /// Activations built as ExampleJob builds its ordinary samples (each token mixes 3 features
    /// with scales 1 to 2, plus noise), drawn from `features` only; written beside the job.
    static func activations(of job: ExampleJob, features: Range<Int>, seed: UInt64, name: String) throws -> String {
        var rng = SeededGenerator(seed: seed)
        let rows = job.mixedRows(samples: job.size.samples, rng: &rng) { _, rng in
            features.lowerBound + Int(rng.next() % UInt64(features.count))
        }
        let path = PathName.folder(job.activationsPath) + "/\(name).safetensors"
        try SafetensorsWriter.write(job.activationTensors(rows, samples: job.size.samples), metadata: [:], to: path)
        return path
    }

    /// `score --summary`'s figures for these activations, in process on the CPU.
    static func summary(of job: ExampleJob, activations: String) throws -> DatasetSummary {
        let (result, proximity, norms) = try scored(job, activations)
        return try DatasetSummary.compute(result: result, proximity: proximity, live: norms.isLive,
                                          draws: PermutationNull.defaultDraws, seed: 0)
    }

    /// What both commands compute first, in process on the CPU: the job's SAE, its decoder's
    /// norms, and every feature's toxic proximity.
    static func opened(_ job: ExampleJob) throws -> (SAECheckpoint, FeatureNorms, [Float]) {
        let checkpoint = try SAECheckpoint.open(job.saePath)
        let decoder = try checkpoint.decoder()
        let norms = FeatureNorms(of: decoder, features: Array(0..<decoder.features))
        let proximity = try ToxicProximity.compute(decoder: decoder, toxic: job.toxic, engines: [CPUEngine()], norms: norms)
        return (checkpoint, norms, proximity.proximity)
    }

    /// The scoring run `score` makes, in process on the CPU: its result and the proximities.
    static func scored(_ job: ExampleJob, _ activations: String) throws -> (DatasetScorer.Result, [Float], FeatureNorms) {
        let (checkpoint, norms, proximity) = try opened(job)
        let data = try ActivationsFile.open(activations, tensor: nil, offsets: "offsets")
        let scorer = try DatasetScorer(encoder: try SAEEncoder(checkpoint: checkpoint), proximity: proximity, activations: data)
        return (try scorer.run(on: [CPUEngine()]), proximity, norms)
    }

    /// `score --reference`'s figures: the dataset against a reference set.
    static func summary(of job: ExampleJob, activations: String, reference: String) throws -> DatasetSummary {
        let (result, proximity, _) = try scored(job, activations)
        let (theirs, _, _) = try scored(job, reference)
        return try DatasetSummary.compare(result: result, reference: theirs, proximity: proximity,
                                          draws: PermutationNull.defaultDraws, seed: 0)
    }

    @Test("with a reference: alpha on data like the reference (chance hits on the cluster included), at least 95% on 10%-risky data")
    func referenceRates() throws {
        var alike = 0, risky = 0
        for index in 0..<Self.pairs {
            let job = Self.job(index)
            let all = 0..<job.size.features
            // Dataset and reference from one source: every feature equally likely, the toxic
            // cluster included (the one-sample null's known limit).
            let reference = try Self.activations(of: job, features: all, seed: UInt64(index) &+ 700, name: "reference")
            let dataset = try Self.activations(of: job, features: all, seed: UInt64(index) &+ 900, name: "alike")
            if try Self.summary(of: job, activations: dataset, reference: reference).leansToxic { alike += 1 }
            // The planted dataset against ordinary data (its own non-risky construction).
            let ordinary = try Self.activations(of: job, features: (job.size.toxic * (1 + job.size.neighboursPerToxic))..<job.size.features,
                                                seed: UInt64(index) &+ 1100, name: "ordinary")
            if try Self.summary(of: job, activations: job.activationsPath, reference: ordinary).leansToxic { risky += 1 }
        }
        let n = Double(Self.pairs)
        print("calibration with a reference over \(Self.pairs) pairs: leans_toxic on data like the reference \(Double(alike) / n), on 10% risky \(Double(risky) / n)")
        // The relabelling test is exact at alpha (not conservative as the one-sample verdict is),
        // so its false-positive count is Binomial(100, 0.05): at most 10 but for a 1% chance.
        #expect(alike <= 10, "false positives on data like the reference: \(alike) of \(Self.pairs)")
        #expect(Double(risky) >= 0.95 * n, "detections on 10%-risky data against ordinary data: \(risky) of \(Self.pairs)")
    }

    @Test("leans_toxic fires on at most 5% of unrelated datasets and on at least 95% of 10%-risky ones")
    func falsePositiveAndDetectionRates() throws {
        var unrelated = 0, risky = 0, highZ = 0
        for index in 0..<Self.pairs {
            let job = Self.job(index)
            let firstPlain = job.size.toxic * (1 + job.size.neighboursPerToxic)
            // Unrelated: never the toxic features or their near-duplicates (the case the old
            // figure called toxic).
            let away = try Self.activations(of: job, features: firstPlain..<job.size.features, seed: UInt64(index), name: "unrelated")
            let awaySummary = try Self.summary(of: job, activations: away)
            if awaySummary.leansToxic { unrelated += 1 }
            if let z = awaySummary.zScore, z > 2 { highZ += 1 }
            // Planted: 10% of the samples lean on the toxic features' near-duplicates.
            if try Self.summary(of: job, activations: job.activationsPath).leansToxic { risky += 1 }
        }
        let n = Double(Self.pairs)
        print("calibration over \(Self.pairs) pairs: leans_toxic on unrelated \(Double(unrelated) / n), on 10% risky \(Double(risky) / n); z > 2 on unrelated \(Double(highZ) / n)")
        #expect(Double(unrelated) <= 0.05 * n, "false positives on unrelated data: \(unrelated) of \(Self.pairs)")
        #expect(Double(risky) >= 0.95 * n, "detections on 10%-risky data: \(risky) of \(Self.pairs)")
    }

    /// `contrast --toxic`'s measurement in process on the CPU, as the command makes it (top 20,
    /// the default draws, seed 0).
    static func contrast(_ job: ExampleJob, _ a: String, _ b: String) throws -> ToxicContrast {
        let (checkpoint, norms, proximity) = try opened(job)
        let result = try DatasetContrast(encoder: try SAEEncoder(checkpoint: checkpoint),
                                         a: try ActivationsFile.open(a, tensor: nil, offsets: "offsets"),
                                         b: try ActivationsFile.open(b, tensor: nil, offsets: "offsets"), paired: false).run(on: [CPUEngine()])
        let ranking = FeatureContrast.ranked(a: result.a, b: result.b, differences: result.differences, dead: { !norms.isLive($0) })
        return try ToxicContrast.compute(ranking: ranking, proximity: proximity, top: 20,
                                     nullSets: PermutationNull.defaultDraws, seed: 0)
    }

    @Test("contrast --toxic: leans_toxic on at most 5% of unrelated pairs of sets, on at least 95% of 10%-risky sets over ordinary ones")
    func contrastRates() throws {
        var unrelated = 0, risky = 0
        for index in 0..<Self.pairs {
            let job = Self.job(index)
            let plain = (job.size.toxic * (1 + job.size.neighboursPerToxic))..<job.size.features
            // Two sets that differ by chance only, both away from the toxic cluster: their top
            // features are picked without regard to p.
            let a = try Self.activations(of: job, features: plain, seed: UInt64(index) &+ 1300, name: "contrast-a")
            let b = try Self.activations(of: job, features: plain, seed: UInt64(index) &+ 1500, name: "contrast-b")
            if try Self.contrast(job, a, b).aOverB.leansToxic { unrelated += 1 }
            // The paper's setting: a fine-tuning set with 10% risky samples over ordinary data.
            if try Self.contrast(job, job.activationsPath, b).aOverB.leansToxic { risky += 1 }
        }
        let n = Double(Self.pairs)
        print("contrast calibration over \(Self.pairs) pairs: leans_toxic on unrelated sets \(Double(unrelated) / n), on 10% risky over ordinary \(Double(risky) / n)")
        #expect(Double(unrelated) <= 0.05 * n, "false positives on unrelated sets: \(unrelated) of \(Self.pairs)")
        #expect(Double(risky) >= 0.95 * n, "detections on 10%-risky sets: \(risky) of \(Self.pairs)")
    }

    /// The limit docs/statistics.md states: data that touches every feature equally often, the
    /// toxic cluster included, is called toxic, because a hit on a toxic feature also fires its
    /// near-duplicates (they co-activate), so the cluster collects more mass than any feature
    /// placed at random. A one-sample figure cannot tell that from a lean; a reference set can.
    @Test("known limit: chance hits on a co-activating toxic cluster are called toxic")
    func chanceHitsOnTheCluster() throws {
        var uniform = 0
        let pairs = 20
        for index in 0..<pairs {
            let job = Self.job(index)
            let anywhere = try Self.activations(of: job, features: 0..<job.size.features, seed: UInt64(index) &+ 500, name: "uniform")
            if try Self.summary(of: job, activations: anywhere).leansToxic { uniform += 1 }
        }
        print("calibration over \(pairs) pairs: leans_toxic on uniformly drawn data \(Double(uniform) / Double(pairs))")
        withKnownIssue("the one-sample null assumes mass is placed without regard to p; co-activating near-duplicates break that") {
            #expect(Double(uniform) <= 0.05 * Double(pairs), "false positives on uniformly drawn data: \(uniform) of \(pairs)")
        }
    }

    @Test("the verdict does not drift with the number of null draws beyond its Monte Carlo error")
    func verdictIsStableInDraws() throws {
        let job = Self.job(0)
        let checkpoint = try SAECheckpoint.open(job.saePath)
        let decoder = try checkpoint.decoder()
        let norms = FeatureNorms(of: decoder, features: Array(0..<decoder.features))
        let proximity = try ToxicProximity.compute(decoder: decoder, toxic: job.toxic, engines: [CPUEngine()], norms: norms)
        let data = try ActivationsFile.open(job.activationsPath, tensor: nil, offsets: "offsets")
        let result = try DatasetScorer(encoder: try SAEEncoder(checkpoint: checkpoint), proximity: proximity.proximity,
                                       activations: data).run(on: [CPUEngine()])
        let runs = try [20, 200, 2000, 20000].map {
            try DatasetSummary.compute(result: result, proximity: proximity.proximity, live: norms.isLive, draws: $0, seed: 3)
        }
        // z and the null's mean and deviation are exact: the same bits for every number of draws.
        #expect(Set(runs.map { $0.zScore?.bitPattern }).count == 1 && Set(runs.map(\.nullStd.bitPattern)).count == 1)
        // p-values agree within their Monte Carlo errors (four of the largest error apart at most).
        let largest = runs.compactMap(\.mcError).max()!
        let ps = runs.compactMap(\.pValue), errors = runs.compactMap(\.mcError)
        let spread = (ps.max() ?? 1) - (ps.min() ?? 0)
        let agree = ps.count == 4 && spread <= 4 * largest + 1.0 / 21
        #expect(agree, "p-values \(ps) with errors \(errors)")
        let verdicts = runs.map(\.leansToxic)
        #expect(verdicts == [true, true, true, true], "verdicts \(verdicts)")
        // Without draws there is no test, and no verdict.
        let none = try DatasetSummary.compute(result: result, proximity: proximity.proximity, live: norms.isLive, draws: 0, seed: 3)
        #expect(none.pValue == nil && none.mcError == nil && !none.leansToxic && none.zScore == runs[0].zScore)
    }

    @Test("the null's exact moments match those of many permutation draws")
    func exactMoments() throws {
        var rng = SeededGenerator(seed: 9)
        let features = 300
        let proximity = (0..<features).map { _ in Float(Double(rng.next() % 1000) / 1000) }
        // Concentrated mass on a few features, a dead feature with mass (which stays put).
        var mass = [Double](repeating: 0, count: features)
        for _ in 0..<40 { mass[Int(rng.next() % UInt64(features))] += Double(1 + rng.next() % 50) }
        mass[7] = 3
        let live = (0..<features).filter { $0 != 7 }
        let exact = PermutationNull.moments(mass: mass, proximity: proximity, live: live)
        let draws = try PermutationNull.draws(100_000, mass: mass, proximity: proximity, live: live, seed: 1)
        let mean = draws.reduce(0, +) / Double(draws.count)
        let std = (draws.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(draws.count - 1)).squareRoot()
        #expect(abs(mean - exact.mean) <= 4 * exact.std / Double(draws.count).squareRoot(), "\(mean) vs \(exact.mean)")
        #expect(abs(std / exact.std - 1) <= 0.02, "\(std) vs \(exact.std)")
    }
}

/// The old figure's false positive (issue 22): on a generated 4096-feature SAE, activations that
/// never touch the toxic ids or their near-duplicates (features 28 on) got z > 2 against random
/// non-toxic sets, and the report said "the dataset leans towards the toxic features". Run as a
/// user runs it: `score --summary`, then `report`.
@Suite(.serialized)
struct CalibrationRegressionTests {
    @Test("unrelated data on a generated SAE: leans_toxic false, and the report says so")
    func unrelatedDataIsNotToxic() throws {
        let job = ExampleJob.inTestFolder("calibration-regression", features: 4096, dimension: 256, samples: 2000, tokens: 8, seed: 7)
        let firstPlain = job.size.toxic * (1 + job.size.neighboursPerToxic)
        #expect(firstPlain == 28)
        let activations = try CalibrationTests.activations(of: job, features: firstPlain..<job.size.features, seed: 2, name: "unrelated")
        let folder = TestFiles.path("calibration-regression")
        let scores = folder + "/scores.jsonl", summary = folder + "/summary.json", html = folder + "/report.html"
        let score = try CommandRunner.saegeo(["score", "--sae", job.saePath, "--toxic", job.toxicPath, "--activations", activations,
                                              "--offsets", "offsets", "-o", scores, "--summary", summary, "--device", "cpu"])
        #expect(score.status == 0, "\(score.stderr)")
        let figures = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: summary))) as? [String: Any] ?? [:]
        #expect(figures["leans_toxic"] as? Bool == false, "\(figures)")
        #expect(score.stderr.contains("no evidence that it leans towards them"), "\(score.stderr)")
        let report = try CommandRunner.saegeo(["report", "--scores", scores, "--summary", summary, "-o", html])
        #expect(report.status == 0, "\(report.stderr)")
        let page = try String(contentsOfFile: html, encoding: .utf8)
        // The old page said "(the dataset leans towards the toxic features)." at z > 2.
        #expect(!page.contains("(the dataset leans towards the toxic features)") && !page.contains("\"verdict\">the dataset leans"))
        #expect(page.contains("\"verdict\">no evidence that the dataset leans towards the toxic features") && page.contains("data-leans-toxic=\"false\""))
    }
}

extension CalibrationRegressionTests {
    @Test("score --reference through the CLI: the reference's figure and the difference in summary.json and the report")
    func referenceThroughTheCommandLine() throws {
        let job = ExampleJob.inTestFolder("calibration-reference", features: 512, dimension: 32, samples: 200, tokens: 3, seed: 5)
        let ordinary = try CalibrationTests.activations(of: job, features: 28..<512, seed: 4, name: "ordinary")
        let folder = TestFiles.path("calibration-reference")
        let scores = folder + "/scores.jsonl", summary = folder + "/summary.json", html = folder + "/report.html"
        let base = ["score", "--sae", job.saePath, "--toxic", job.toxicPath, "--activations", job.activationsPath,
                    "--offsets", "offsets", "-o", scores, "--device", "cpu"]
        let run = try CommandRunner.saegeo(base + ["--summary", summary, "--reference", ordinary, "--reference-offsets", "offsets"])
        #expect(run.status == 0 && run.stderr.contains("the reference's own"), "\(run.stderr)")
        let figures = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: summary))) as? [String: Any] ?? [:]
        let reference = figures["reference"] as? [String: Any] ?? [:]
        #expect(figures["leans_toxic"] as? Bool == true && reference["samples"] as? Int == 200, "\(figures)")
        #expect((reference["difference"] as? Double ?? 0) > 0 && (reference["difference_interval"] as? [Double])?.count == 2)
        #expect(figures["null"] as? String == "samples permuted between the dataset and the reference")
        let report = try CommandRunner.saegeo(["report", "--scores", scores, "--summary", summary, "-o", html])
        #expect(report.status == 0, "\(report.stderr)")
        let page = try String(contentsOfFile: html, encoding: .utf8)
        #expect(page.contains("the reference (200 samples)") && page.contains("\"verdict\">the dataset leans towards the toxic features"))
        // A reference option without --reference, and --reference with --shard: refused, nothing written.
        let stray = try CommandRunner.saegeo(base + ["--reference-offsets", "offsets"])
        #expect(stray.status != 0 && stray.stderr.contains("--reference-offsets") && stray.stderr.contains("--reference ACTS"), "\(stray.stderr)")
        let sharded = try CommandRunner.saegeo(base.map { $0 == scores ? folder + "/shard.jsonl" : $0 } + ["--reference", ordinary, "--shard", "0/2"])
        #expect(sharded.status != 0 && sharded.stderr.contains("--reference") && !FileManager.default.fileExists(atPath: folder + "/shard.jsonl"), "\(sharded.stderr)")
    }
}
