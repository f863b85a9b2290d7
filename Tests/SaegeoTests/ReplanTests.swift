import Foundation
import SaegeoCore
import Testing

/// A device that fails to allocate (SaegeoError.isAllocationFailure) makes the job runner plan
/// again once with half the memory budget, say so in one line, and give the same answer as a run
/// that never failed; a second failure is the one-line error. Through the public surface: a
/// NeighborsJob on the tight test backend (TightMemoryBackend/), registered like any plug-in.
struct ReplanTests {
    static let budget = 4 << 20

    /// Runs `neighbors` of a dictionary onto `output`, returning the lines it said.
    static func neighbors(_ dictionary: TestDictionary, engines: [ComputeEngine], budget: Int?, output: String) throws -> [String] {
        let lines = Locked<[String]>([])
        let job = NeighborsJob(sae: SAESource(path: dictionary.path), k: 9, output: output)
        try job.run(on: JobDevices(engines, budget: budget), events: JobEvents(log: { line in lines.withLock { $0.append(line) } }),
                    cancellation: Cancellation())
        return lines.current
    }

    static func tight(limit: Int = .max, chunkLimit: Int = .max, asked: Locked<[Int]> = Locked([]),
                      askedChunks: Locked<[Int]> = Locked([])) throws -> ComputeEngine {
        let backend = TightMemoryBackend(limit: limit, chunkLimit: chunkLimit, asked: asked, askedChunks: askedChunks)
        return try DeviceCatalog(backends: [backend]).engine(for: TightMemoryBackend.family)
    }

    /// Scores the example job onto `output` (.csv), returning the lines it said.
    static func score(_ example: ExampleJob, engines: [ComputeEngine], budget: Int?, output: String) throws -> [String] {
        let lines = Locked<[String]>([])
        var job = ScoreJob(sae: SAESource(path: example.saePath), toxic: example.toxicPath, activations: example.activationsPath,
                           output: output)
        job.offsets = "offsets"
        job.nullSets = 0
        try job.run(on: JobDevices(engines, budget: budget), events: JobEvents(log: { line in lines.withLock { $0.append(line) } }),
                    cancellation: Cancellation())
        return lines.current
    }

    @Test("score re-plans its chunks of samples once after an allocation failure, as a run under half the budget scores")
    func scoreReplans() throws {
        let example = ExampleJob.inTestFolder("replan-score", features: 512, dimension: 64, samples: 300, tokens: 4, seed: 31)
        let budget = 1 << 20
        let full = Locked<[Int]>([]), half = Locked<[Int]>([])
        _ = try Self.score(example, engines: [try Self.tight(askedChunks: full)], budget: budget, output: TestFiles.path("rs-full.csv"))
        _ = try Self.score(example, engines: [try Self.tight(askedChunks: half)], budget: budget / 2, output: TestFiles.path("rs-half.csv"))
        let largest = try #require(full.current.max()), largestHalf = try #require(half.current.max())
        try #require(largestHalf < largest, "half the budget should make smaller chunks (\(largestHalf) vs \(largest) bytes)")

        let lines = try Self.score(example, engines: [try Self.tight(chunkLimit: largestHalf)], budget: budget,
                                   output: TestFiles.path("rs.csv"))
        #expect(lines.filter { $0.contains("planning again") }.count == 1, "\(lines)")
        // The same chunks as a plain CPU run under half the budget: the same bits.
        _ = try Self.score(example, engines: [CPUEngine()], budget: budget / 2, output: TestFiles.path("rs-plain.csv"))
        let (got, plain) = (try String(contentsOfFile: TestFiles.path("rs.csv"), encoding: .utf8),
                            try String(contentsOfFile: TestFiles.path("rs-plain.csv"), encoding: .utf8))
        #expect(got == plain)
        #expect(got.split(separator: "\n").count == 301)
    }

    @Test("an allocation failure re-plans once with half the budget, says so, and gives the plain run's answer")
    func allocationFailureReplans() throws {
        let dictionary = try TestDictionary.make(features: 3000, dimension: 96, seed: 23)
        // What the plans under the budget and under half of it ask a device to hold.
        let full = Locked<[Int]>([]), half = Locked<[Int]>([])
        _ = try Self.neighbors(dictionary, engines: [try Self.tight(limit: .max, asked: full)], budget: Self.budget,
                               output: TestFiles.path("replan-full.safetensors"))
        _ = try Self.neighbors(dictionary, engines: [try Self.tight(limit: .max, asked: half)], budget: Self.budget / 2,
                               output: TestFiles.path("replan-half.safetensors"))
        let largest = try #require(full.current.max()), largestHalf = try #require(half.current.max())
        try #require(largestHalf < largest, "half the budget should make smaller blocks (\(largestHalf) vs \(largest) bytes)")

        // A device that holds the half plan's blocks but not the first plan's.
        let output = TestFiles.path("replan.safetensors")
        let lines = try Self.neighbors(dictionary, engines: [try Self.tight(limit: largestHalf)], budget: Self.budget, output: output)
        let said = lines.filter { $0.contains("planning again") }
        #expect(said.count == 1, "\(lines)")
        #expect(said.first?.contains("CL_MEM_OBJECT_ALLOCATION_FAILURE") == true, "\(said)")
        #expect(said.first?.contains("\(Self.budget / 2) bytes") == true, "\(said)")

        let plainPath = TestFiles.path("replan-plain.safetensors")
        _ = try Self.neighbors(dictionary, engines: [CPUEngine()], budget: nil, output: plainPath)
        let (got, plain) = (try SafetensorsContents(path: output), try SafetensorsContents(path: plainPath))
        #expect(got.int64("indices") == plain.int64("indices"))
        #expect(got.float32("scores") == plain.float32("scores"))
        #expect(got.int64("query_ids") == plain.int64("query_ids") && got.int64("query_ids").count == 3000)
        // And the plain run is right (an independent float64 reference for a few queries).
        let reference = dictionary.referenceNeighbors(queries: [0, 1499, 2999], keys: Array(0..<3000), k: 9)
        let rows = [0, 1499, 2999].flatMap { q in got.int64("indices")[(q * 9)..<(q * 9 + 9)] }
        #expect(rows == reference.indices)
    }

    @Test("a second allocation failure is the one-line error, after the one re-plan line")
    func secondFailureIsReported() throws {
        let dictionary = try TestDictionary.make(features: 500, dimension: 32, seed: 5)
        let lines = Locked<[String]>([])
        let output = TestFiles.path("replan-fails.safetensors")
        let job = NeighborsJob(sae: SAESource(path: dictionary.path), k: 4, output: output)
        do {
            try job.run(on: JobDevices([try Self.tight(limit: 16)], budget: 1 << 20),
                        events: JobEvents(log: { line in lines.withLock { $0.append(line) } }), cancellation: Cancellation())
            Issue.record("a device that holds nothing finished the job")
        } catch let error as SaegeoError {
            #expect(error.isAllocationFailure)
            #expect(error.code == .openCL(-4))
            #expect(error.kind == .device)
            #expect(error.exitStatus == 71)
            #expect(!error.message.contains("\n"))
        }
        #expect(lines.current.filter { $0.contains("planning again") }.count == 1, "\(lines.current)")
        #expect(!FileManager.default.fileExists(atPath: output))
    }
}
