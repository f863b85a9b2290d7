import Foundation
import SaegeoCore
import Testing

/// SaegeoCore as a library: arrays in, arrays out, nothing written (InMemoryJobs), giving what
/// the file jobs write and what an independent float64 reference computes.
struct InMemoryJobsTests {
    @Test("neighbours of an array: the float64 reference's ids, on the CPU and the float64 test backend")
    func neighborsOfAnArray() throws {
        let dictionary = try TestDictionary.make(features: 700, dimension: 40, seed: 41, dead: [3])
        let matrix = try InMemoryJobs.matrix(dictionary.values, rows: 700, dimension: 40)
        let queries = [0, 3, 5, 350, 699]
        let reference = dictionary.referenceNeighbors(queries: queries, keys: Array(0..<700), k: 6)
        let f64 = try DeviceCatalog(backends: [Float64Backend()]).engine(for: Float64Backend.family)
        for engine in [CPUEngine(), f64] {
            let seen = Locked(0)
            let events = JobEvents(log: { _ in }, progress: { _ in { _ in seen.withLock { $0 += 1 } } })
            let result = try InMemoryJobs.neighbors(of: matrix, queries: queries, k: 6, devices: JobDevices([engine]), events: events)
            #expect(result.indices == reference.indices, "\(engine.device.id)")
            #expect(result.scores == reference.scores, "\(engine.device.id)")
            #expect(seen.current > 0, "no progress observed on \(engine.device.id)")
        }
        #expect(throws: SaegeoError.self) { try InMemoryJobs.matrix([1, 2, 3], rows: 2, dimension: 2) }
    }

    @Test("scores of arrays equal, bit for bit, the scores `score` writes for the same activations")
    func scoresOfArrays() throws {
        let example = ExampleJob.inTestFolder("in-memory", features: 300, dimension: 48, samples: 90, tokens: 3, seed: 17)
        let output = TestFiles.path("in-memory-scores.safetensors")
        var fileJob = ScoreJob(sae: SAESource(path: example.saePath), toxic: example.toxicPath,
                               activations: example.activationsPath, output: output)
        fileJob.offsets = "offsets"
        fileJob.nullSets = 0
        try fileJob.run(on: JobDevices([CPUEngine()]), events: .silent, cancellation: Cancellation())
        let written = try SafetensorsContents(path: output)

        let stored = try SafetensorsContents(path: example.activationsPath)
        let values = stored.float32("activations")
        let starts = stored.int64("offsets").map(Int.init)
        let rows = try InMemoryJobs.matrix(values, rows: values.count / 48, dimension: 48)
        let sae = try SAESource(path: example.saePath).open()
        let toxic = try String(contentsOfFile: example.toxicPath, encoding: .utf8).split(separator: "\n")
            .compactMap { Int($0.trimmingCharacters(in: .whitespaces)) }
        let result = try InMemoryJobs.score(sae: sae, toxic: toxic, activations: try InMemoryJobs.activations(rows, sampleStarts: starts),
                                            devices: JobDevices([CPUEngine()]))
        let scores: [Float] = result.scores
        #expect(scores.count == 90)
        #expect(result.scores == written.float32("scores"))
        #expect(result.active == written.int64("active"))
        // The risky samples (planted near the toxic features) score above the rest on average.
        func mean(_ keep: (Int) -> Bool) -> Double {
            let chosen: [Double] = scores.indices.filter(keep).map { Double(scores[$0]) }
            return chosen.reduce(0.0, +) / Double(max(chosen.count, 1))
        }
        let riskyMean = mean { example.risky.contains($0) }, plainMean = mean { !example.risky.contains($0) }
        #expect(riskyMean > plainMean)
    }

    @Test("a contrast of arrays ranks as `contrast` writes it, with the planted toxic features on top")
    func contrastOfArrays() throws {
        let example = ExampleJob.inTestFolder("in-memory-contrast", features: 256, dimension: 32, samples: 40, tokens: 3, seed: 29)
        let sets = try example.writeLabelledSets(samples: 60, seed: 3, to: TestFiles.path("in-memory-contrast"))
        let output = TestFiles.path("in-memory-contrast.safetensors")
        var fileJob = ContrastJob(sae: SAESource(path: example.saePath), activations: sets.toxic, baseline: sets.ordinary, output: output)
        fileJob.offsets = "offsets"
        fileJob.baselineOffsets = "offsets"
        try fileJob.run(on: JobDevices([CPUEngine()]), events: .silent, cancellation: Cancellation())
        let written = try SafetensorsContents(path: output)
        let writtenT: [Double] = written.tensors["t"]!.bytes.withUnsafeBytes { Array($0.bindMemory(to: Double.self)) }

        func arrays(_ path: String) throws -> ActivationsFile {
            let stored = try SafetensorsContents(path: path)
            let values = stored.float32("activations")
            let rows = try InMemoryJobs.matrix(values, rows: values.count / 32, dimension: 32)
            return try InMemoryJobs.activations(rows, sampleStarts: stored.int64("offsets").map(Int.init))
        }
        let ranking = try InMemoryJobs.contrast(sae: try SAESource(path: example.saePath).open(), a: try arrays(sets.toxic),
                                                b: try arrays(sets.ordinary), devices: JobDevices([CPUEngine()]))
        #expect(ranking.map { Int64($0.feature) } == written.int64("feature"))
        #expect(ranking.map(\.t) == writtenT)
        let toxic = Set(0..<example.size.toxic)  // the planted dictionary's first features
        let top = Set(ranking.prefix(2 * toxic.count).map(\.feature))
        #expect(!toxic.isDisjoint(with: top), "no planted toxic feature among the top \(2 * toxic.count): \(top.sorted())")
    }

    @Test("a cancelled in-memory job stops with the interrupted error")
    func cancelled() throws {
        let dictionary = try TestDictionary.make(features: 400, dimension: 16, seed: 2)
        let matrix = try InMemoryJobs.matrix(dictionary.values, rows: 400, dimension: 16)
        let cancellation = Cancellation()
        cancellation.cancel()
        do {
            _ = try InMemoryJobs.neighbors(of: matrix, k: 3, devices: JobDevices([CPUEngine()]), cancellation: cancellation)
            Issue.record("a cancelled search finished")
        } catch let error as SaegeoError {
            #expect(error.kind == .interrupted)
        }
    }
}
