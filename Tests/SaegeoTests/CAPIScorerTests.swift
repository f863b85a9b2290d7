import Foundation
import SaegeoCAPI
import SaegeoCore
import Testing

/// The C interface's streaming scorer against `saegeo score` on a generated job: one add of the
/// whole dataset is the CLI's run (scores, active counts, explanations, summary as written);
/// uneven batches agree within 1e-6 with identical active counts; 16-bit inputs are widened as
/// the CLI widens them; bad batches give a status and one line and leave the scorer usable.
struct CAPIScorerTests {
    static let example = ExampleJob.inTestFolder("capi-score", features: 300, dimension: 48, samples: 90, tokens: 3, seed: 17)
    static let d = 48

    /// The job's activations and sample starts, as the file holds them.
    static func activations() throws -> (values: [Float], starts: [Int]) {
        let stored = try SafetensorsContents(path: example.activationsPath)
        return (stored.float32("activations"), stored.int64("offsets").map(Int.init))
    }

    static func newScorer(explain: Int64 = 0, skipNonFinite: Int32 = 0, toxic: [Int64]? = nil) throws -> (UnsafeMutableRawPointer, UnsafeMutableRawPointer) {
        let sae = try CAPI.openSAE(example.saePath)
        let ids = try toxic ?? CAPI.toxicIds(example.toxicPath)
        var scorer: UnsafeMutableRawPointer?
        let status = saegeo_scorer_new(sae, ids, Int64(ids.count), "cpu", nil, explain, skipNonFinite, -1, &scorer)
        if status != 0 { saegeo_sae_free(sae) }
        try CAPI.check(status)
        return (sae, scorer!)
    }

    /// Samples `range`'s rows and their starts from 0.
    static func batch(_ data: (values: [Float], starts: [Int]), _ range: Range<Int>) -> (values: [Float], starts: [Int]) {
        let first = data.starts[range.lowerBound], last = data.starts[range.upperBound]
        return (Array(data.values[(first * d)..<(last * d)]), data.starts[range.lowerBound...range.upperBound].map { $0 - first })
    }

    @Test("one add of the whole dataset is `saegeo score`: scores, active, explanations and summary as written")
    func oneAddIsTheCLI() throws {
        let output = TestFiles.path("capi-score.jsonl"), summaryPath = TestFiles.path("capi-score-summary.json")
        var job = ScoreJob(sae: SAESource(path: Self.example.saePath), toxic: Self.example.toxicPath,
                           activations: Self.example.activationsPath, output: output)
        (job.offsets, job.explain, job.summary, job.nullSets, job.seed) = ("offsets", 3, summaryPath, 50, 9)
        try job.run(on: JobDevices([try CPUBackend(precision: .auto).engine(for: "cpu")]), events: .silent, cancellation: Cancellation())
        let lines = try String(contentsOfFile: output, encoding: .utf8).split(separator: "\n").map(String.init)

        let data = try Self.activations()
        let (sae, scorer) = try Self.newScorer(explain: 3)
        defer { saegeo_scorer_free(scorer); saegeo_sae_free(sae) }
        try CAPI.add(scorer: scorer, data.values, dModel: Self.d, starts: data.starts)
        let result = try CAPI.finish(scorer, nullSets: 50, seed: 9)
        let written = try lines.map { try CAPI.json($0) as! [String: Any] }
        #expect(result.scores.count == 90)
        #expect(result.scores.map { Float($0) } == written.map { Float($0["score"] as! Double) })
        #expect(result.active == written.map { Int64($0["active"] as! Int) })
        let explained = "[" + lines.map { String($0[$0.range(of: "\"explain\": ")!.upperBound...].dropLast()) }.joined(separator: ", ") + "]"
        #expect(result.explain == explained)
        #expect(result.summary == (try String(contentsOfFile: summaryPath, encoding: .utf8)))
        // Closed after finish.
        #expect(CAPI.failure { try CAPI.add(scorer: scorer, data.values, dModel: Self.d, starts: data.starts) }.status == 5)
    }

    @Test("uneven batches agree with one add within 1e-6, active counts identical; one row per sample without offsets")
    func unevenBatches() throws {
        let data = try Self.activations()
        let (sae, whole) = try Self.newScorer(), (_, split) = try Self.newScorer()
        defer { saegeo_scorer_free(whole); saegeo_scorer_free(split); saegeo_sae_free(sae) }
        try CAPI.add(scorer: whole, data.values, dModel: Self.d, starts: data.starts)
        let count = CAPI.ProgressCount()
        for range in [0..<7, 7..<40, 40..<41, 41..<41, 41..<90] {
            let part = Self.batch(data, range)
            let offsets = part.starts.map(Int64.init)
            try part.values.withUnsafeBytes { rows in
                try CAPI.check(saegeo_scorer_add(split, rows.baseAddress, 0, Int64(part.values.count / Self.d), Int64(Self.d), offsets,
                                                 Int64(offsets.count), nil, CAPI.progress, Unmanaged.passUnretained(count).toOpaque()))
            }
        }
        #expect(count.calls.current > 0)
        let a = try CAPI.finish(whole, nullSets: 20, seed: 1), b = try CAPI.finish(split, nullSets: 20, seed: 1)
        #expect(a.active == b.active)
        #expect(zip(a.scores, b.scores).allSatisfy { abs($0 - $1) <= 1e-6 * max(abs($0), 1e-30) }, "\(zip(a.scores, b.scores).map { $0 - $1 }.max()!)")
        let sa = try CAPI.json(a.summary) as! [String: Any], sb = try CAPI.json(b.summary) as! [String: Any]
        for key in ["mean_score", "mean_proximity", "null_mean"] {
            let x = sa[key] as! Double, y = sb[key] as! Double
            #expect(abs(x - y) <= 1e-6 * abs(x), "\(key): \(x) vs \(y)")
        }

        // No offsets: every row is a sample of its own, as the CLI scores a file without them. The
        // SAE's handle is freed first: a scorer keeps what it needs of it.
        let (rowsSAE, rows) = try Self.newScorer()
        saegeo_sae_free(rowsSAE)
        defer { saegeo_scorer_free(rows) }
        try CAPI.add(scorer: rows, Array(data.values[0..<(10 * Self.d)]), dModel: Self.d, starts: nil)
        #expect(try CAPI.finish(rows, nullSets: 0, seed: 0).active.count == 10)
    }

    @Test("on every device, with several encoder tiles, a stream keeps each engine's tile between batches and agrees with one add")
    func heldTilesOnEveryDevice() throws {
        let data = try Self.activations()
        let sae = try CAPI.openSAE(Self.example.saePath)
        defer { saegeo_sae_free(sae) }
        let toxic = try CAPI.toxicIds(Self.example.toxicPath)
        for device in try DeviceCatalog.standard().descriptions.map(\.id) {
            // 256 KiB: tiles of a few dozen features, so a batch ends on another tile than it starts with.
            var whole: UnsafeMutableRawPointer?, split: UnsafeMutableRawPointer?
            try CAPI.check(saegeo_scorer_new(sae, toxic, Int64(toxic.count), device, nil, 0, 0, 256 << 10, &whole))
            try CAPI.check(saegeo_scorer_new(sae, toxic, Int64(toxic.count), device, nil, 0, 0, 256 << 10, &split))
            defer { saegeo_scorer_free(whole); saegeo_scorer_free(split) }
            try CAPI.add(scorer: whole, data.values, dModel: Self.d, starts: data.starts)
            for range in [0..<11, 11..<12, 12..<90] {
                let part = Self.batch(data, range)
                try CAPI.add(scorer: split, part.values, dModel: Self.d, starts: part.starts)
            }
            let a = try CAPI.finish(whole, nullSets: 0, seed: 0), b = try CAPI.finish(split, nullSets: 0, seed: 0)
            #expect(a.active == b.active, "\(device)")
            #expect(zip(a.scores, b.scores).allSatisfy { abs($0 - $1) <= 1e-6 * max(abs($0), 1e-30) }, "\(device)")
        }
    }

    @Test("float16 and bfloat16 rows score as the same values widened to float32")
    func narrowTypes() throws {
        let data = try Self.activations()
        let half = data.values.map { Float16($0).bitPattern }
        let brain = data.values.map { UInt16($0.bitPattern >> 16) }
        for (dtype, bits) in [(Int32(1), half), (Int32(2), brain)] {
            let widened = bits.map { dtype == 1 ? Float(Float16(bitPattern: $0)) : Float(bitPattern: UInt32($0) << 16) }
            let (sae, narrow) = try Self.newScorer(), (_, wide) = try Self.newScorer()
            defer { saegeo_scorer_free(narrow); saegeo_scorer_free(wide); saegeo_sae_free(sae) }
            try CAPI.add(scorer: narrow, bits, dtype: dtype, dModel: Self.d, starts: data.starts)
            try CAPI.add(scorer: wide, widened, dModel: Self.d, starts: data.starts)
            let x = try CAPI.finish(narrow, nullSets: 0, seed: 0), y = try CAPI.finish(wide, nullSets: 0, seed: 0)
            #expect(x.scores == y.scores && x.active == y.active, "dtype \(dtype)")
        }
    }

    @Test("bad batches give their status and one line, and leave the scorer usable; cancel gives 6")
    func badBatches() throws {
        let data = try Self.activations()
        let (sae, scorer) = try Self.newScorer()
        defer { saegeo_scorer_free(scorer); saegeo_sae_free(sae) }
        let part = Self.batch(data, 0..<4)
        let wrongModel = CAPI.failure { try CAPI.add(scorer: scorer, Array(part.values[0..<(47 * 4)]), dModel: 47, starts: nil) }
        #expect(wrongModel.status == 1 && wrongModel.message == "activations batch 0: activations have d_model 47 but the SAE expects 48")
        let falling = CAPI.failure { try CAPI.add(scorer: scorer, part.values, dModel: Self.d, starts: [0, 6, 3, 12]) }
        #expect(falling.status == 1 && falling.message.contains("offsets must start at 0, never decrease and end at the 12 rows"))
        #expect(CAPI.failure { try CAPI.add(scorer: scorer, part.values, dModel: Self.d, starts: [0, 3, 11]) }.status == 1)
        #expect(CAPI.failure { try CAPI.add(scorer: scorer, part.values, dtype: 7, dModel: Self.d, starts: nil) }.status == 1)
        #expect(saegeo_scorer_add(scorer, nil, 0, 3, 48, nil, 0, nil, nil, nil) == 1)
        var poisoned = part.values
        poisoned[5 * Self.d + 2] = .nan
        let nan = CAPI.failure { try CAPI.add(scorer: scorer, poisoned, dModel: Self.d, starts: part.starts) }
        #expect(nan.status == 1 && nan.message.contains("token row 5 holds nan at column 2") && nan.message.contains("--skip-nonfinite"), "\(nan)")
        let token = saegeo_cancel_new()
        defer { saegeo_cancel_free(token) }
        saegeo_cancel(token)
        let cancelled = CAPI.failure { try CAPI.add(scorer: scorer, part.values, dModel: Self.d, starts: part.starts, cancel: token) }
        #expect(cancelled.status == 6, "\(cancelled)")
        // None of the failures added anything: the scorer goes on with exactly the good batch.
        try CAPI.add(scorer: scorer, part.values, dModel: Self.d, starts: part.starts)
        #expect(try CAPI.finish(scorer, nullSets: 0, seed: 0).scores.count == 4)

        let (_, skipping) = try Self.newScorer(skipNonFinite: 1)
        defer { saegeo_scorer_free(skipping) }
        try CAPI.add(scorer: skipping, poisoned, dModel: Self.d, starts: part.starts)
        let outOfRange = CAPI.failure { _ = try Self.newScorer(toxic: [1, 300]) }
        #expect(outOfRange.status == 1 && outOfRange.message.contains("300 is out of range"), "\(outOfRange)")
        var empty: UnsafeMutableRawPointer?
        #expect(saegeo_scorer_new(sae, [1], 1, "cpu", nil, 0, 0, -1, &empty) == 0)
        defer { saegeo_scorer_free(empty) }
        var result: UnsafeMutableRawPointer?
        #expect(saegeo_scorer_finish(empty, 0, 0, nil, &result) == 1 && result == nil)
    }
}
