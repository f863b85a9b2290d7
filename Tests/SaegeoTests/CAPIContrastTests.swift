import Foundation
import SaegeoCAPI
import SaegeoCore
import Testing

/// The C interface's streaming contrast against `saegeo contrast` on generated sets: one add per
/// set gives the CLI's .jsonl rows and toxic measurement exactly; uneven batches and paired
/// batches agree within 1e-6; paired batches that do not match are refused.
struct CAPIContrastTests {
    static let example = ExampleJob.inTestFolder("capi-contrast", features: 256, dimension: 32, samples: 40, tokens: 3, seed: 29)
    static let d = 32

    static func read(_ path: String) throws -> (values: [Float], starts: [Int]) {
        let stored = try SafetensorsContents(path: path)
        return (stored.float32("activations"), stored.int64("offsets").map(Int.init))
    }

    /// The CLI's rows (parsed .jsonl) and its summary's toxic measurement.
    static func cli(a: String, b: String, paired: Bool, name: String) throws -> (rows: [[String: Any]], toxic: [String: Any]) {
        let output = TestFiles.path("capi-contrast-\(name).jsonl"), summary = TestFiles.path("capi-contrast-\(name).json")
        var job = ContrastJob(sae: SAESource(path: example.saePath), activations: a, baseline: b, output: output)
        (job.offsets, job.baselineOffsets, job.paired, job.top) = ("offsets", "offsets", paired, 5)
        (job.toxic, job.summary, job.nullSetsOption, job.seedOption) = (example.toxicPath, summary, 30, 2)
        try job.run(on: JobDevices([try CPUBackend(precision: .auto).engine(for: "cpu")]), events: .silent, cancellation: Cancellation())
        let rows = try String(contentsOfFile: output, encoding: .utf8).split(separator: "\n").map { try CAPI.json(String($0)) as! [String: Any] }
        let figures = try CAPI.json(try String(contentsOfFile: summary, encoding: .utf8)) as! [String: Any]
        return (rows, figures["toxic"] as! [String: Any])
    }

    /// The C interface's table for batches of A and B (sample ranges), in the order given.
    static func capi(a: (values: [Float], starts: [Int]), b: (values: [Float], starts: [Int]), paired: Bool,
                     batches: [(set: Int32, samples: Range<Int>)]) throws -> (rows: [[String: Any]], toxic: [String: Any]) {
        let sae = try CAPI.openSAE(example.saePath)
        var contrast: UnsafeMutableRawPointer?
        try CAPI.check(saegeo_contrast_new(sae, "cpu", nil, paired ? 1 : 0, -1, &contrast))
        defer { saegeo_contrast_free(contrast); saegeo_sae_free(sae) }
        for (set, range) in batches {
            let data = set == 0 ? a : b
            let first = data.starts[range.lowerBound], last = data.starts[range.upperBound]
            try CAPI.add(contrast: contrast, set: set, Array(data.values[(first * d)..<(last * d)]), dModel: d,
                         starts: data.starts[range.lowerBound...range.upperBound].map { $0 - first })
        }
        let toxic = try CAPI.toxicIds(example.toxicPath)
        let table = try CAPI.json(try CAPI.string { saegeo_contrast_finish(contrast, toxic, Int64(toxic.count), 5, 30, 2, nil, $0) }) as! [String: Any]
        return (table["rows"] as! [[String: Any]], table["toxic"] as! [String: Any])
    }

    /// Every feature's figures agree within 1e-6 (relative), its counts exactly.
    static func agree(_ x: [[String: Any]], _ y: [[String: Any]]) -> Bool {
        func byFeature(_ rows: [[String: Any]]) -> [Int: [String: Any]] { Dictionary(uniqueKeysWithValues: rows.map { ($0["feature"] as! Int, $0) }) }
        let (p, q) = (byFeature(x), byFeature(y))
        return p.count == q.count && p.allSatisfy { feature, row in
            let other = q[feature]!
            return ["fires_a", "fires_b", "tokens_a", "tokens_b"].allSatisfy { row[$0] as! Int == other[$0] as! Int }
                && ["t", "rate_a", "rate_b", "mean_a", "mean_b"].allSatisfy {
                    guard let u = row[$0] as? Double, let v = other[$0] as? Double else { return (row[$0] as? String) == (other[$0] as? String) }
                    return abs(u - v) <= 1e-6 * max(abs(u), 1e-12)
                }
        }
    }

    @Test("one add per set is `saegeo contrast`: the same rows and toxic measurement; uneven batches within 1e-6")
    func unpaired() throws {
        let sets = try Self.example.writeLabelledSets(samples: 60, seed: 3, to: TestFiles.path("capi-contrast"))
        let (a, b) = (try Self.read(sets.toxic), try Self.read(sets.ordinary))
        let cli = try Self.cli(a: sets.toxic, b: sets.ordinary, paired: false, name: "unpaired")
        let once = try Self.capi(a: a, b: b, paired: false, batches: [(0, 0..<60), (1, 0..<60)])
        #expect(once.rows.count == 256)
        #expect((once.rows as NSArray).isEqual(to: cli.rows))
        #expect((once.toxic as NSDictionary).isEqual(to: cli.toxic))
        let split = try Self.capi(a: a, b: b, paired: false, batches: [(1, 0..<13), (0, 0..<1), (0, 1..<50), (1, 13..<60), (0, 50..<60)])
        #expect(Self.agree(split.rows, cli.rows))
    }

    @Test("paired batches in matching pairs agree with `contrast --paired`; unmatched pairs are refused")
    func paired() throws {
        let a = try Self.read(Self.example.activationsPath)
        // B: the same samples through "another model" (a seeded perturbation), the same offsets.
        var rng = SeededGenerator(seed: 12)
        let b = (values: a.values.map { $0 * 0.8 + Float(rng.gaussian()) * 0.05 }, starts: a.starts)
        let bPath = TestFiles.path("capi-contrast-paired-b.safetensors")
        try SafetensorsWriter.write([.float32("activations", shape: [b.values.count / Self.d, Self.d], b.values),
                                     .int64("offsets", shape: [b.starts.count], b.starts.map(Int64.init))], metadata: [:], to: bPath)
        let cli = try Self.cli(a: Self.example.activationsPath, b: bPath, paired: true, name: "paired")
        let once = try Self.capi(a: a, b: b, paired: true, batches: [(0, 0..<40), (1, 0..<40)])
        #expect((once.rows as NSArray).isEqual(to: cli.rows))
        let pairs = try Self.capi(a: a, b: b, paired: true, batches: [(0, 0..<9), (0, 9..<30), (1, 0..<9), (1, 9..<30), (1, 30..<40), (0, 30..<40)])
        #expect(Self.agree(pairs.rows, cli.rows))

        let unmatched = CAPI.failure { _ = try Self.capi(a: a, b: b, paired: true, batches: [(0, 0..<20), (1, 0..<10)]) }
        #expect(unmatched.status == 1 && unmatched.message.contains("matching pairs") && unmatched.message.contains("A's holds 20 samples and B's 10"), "\(unmatched)")
        let alone = CAPI.failure { _ = try Self.capi(a: a, b: b, paired: true, batches: [(0, 0..<20), (1, 0..<20), (0, 20..<40)]) }
        #expect(alone.status == 1 && alone.message.contains("no partner"), "\(alone)")
        let noB = CAPI.failure { _ = try Self.capi(a: a, b: b, paired: false, batches: [(0, 0..<20)]) }
        #expect(noB.status == 1 && noB.message.contains("set B holds no samples"), "\(noB)")
    }
}
