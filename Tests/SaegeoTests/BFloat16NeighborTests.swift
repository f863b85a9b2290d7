import Foundation
import Testing
@testable import SaegeoCore

/// The certified bfloat16 first pass of neighbours: the same bytes as float32 (indices and score
/// bits) for every job shape, on the native product where this CPU has it and on the portable
/// one everywhere, including inputs the first pass cannot order (ties, near-duplicates).
@Suite(.serialized)
struct BFloat16NeighborTests {
    /// A named way to run the search: engines built fresh for each run.
    struct Engines: CustomStringConvertible, Sendable {
        let description: String
        let make: @Sendable () throws -> [ComputeEngine]
    }

    static func bfloat16(portable: Bool, maxAllocation: Int? = nil) -> ComputeEngine {
        // A CPU backend's only device is "cpu": its engine cannot fail.
        try! CPUBackend(maxAllocationBytes: maxAllocation, precision: .bfloat16, portableBFloat16: portable).engine(for: "cpu")
    }

    static let float32 = Engines(description: "float32") { [CPUEngine()] }
    static let firstPasses: [Engines] = {
        let native = BFloat16Product.best == .native ? "native" : "portable (no native product here)"
        var cases = [
            Engines(description: "bfloat16 \(native)") { [bfloat16(portable: false)] },
            Engines(description: "bfloat16 portable") { [bfloat16(portable: true)] },
            Engines(description: "bfloat16 \(native), 256 KiB tiles") { [bfloat16(portable: false, maxAllocation: 256 << 10)] },
            Engines(description: "bfloat16 portable, 256 KiB tiles") { [bfloat16(portable: true, maxAllocation: 256 << 10)] },
        ]
        if TestBackends.hasOpenCL {
            cases.append(Engines(description: "bfloat16 \(native) with opencl:0") {
                [bfloat16(portable: false, maxAllocation: 256 << 10), try TestBackends.catalog(maxAllocation: 256 << 10).engine(for: "opencl:0")]
            })
        }
        return cases
    }()

    /// Runs `search` on float32 and on `engines`; expects the same indices and score bits, and
    /// returns the first pass's result.
    @discardableResult
    static func expectSame(_ search: NeighborSearch, _ engines: Engines, _ comment: String) throws -> NeighborResult {
        let reference = try search.run(on: try float32.make())
        let result = try search.run(on: try engines.make())
        #expect(result.indices == reference.indices, "\(comment), \(engines): indices differ")
        #expect(result.scores.map(\.bitPattern) == reference.scores.map(\.bitPattern), "\(comment), \(engines): scores differ")
        #expect(result.firstPass.queryRows > 0 && result.firstPass.rescoredCandidates >= result.firstPass.queryRows)
        #expect(result.firstPass.exhaustiveRows == result.exhaustiveRows)
        return result
    }

    @Test("generated dictionaries: all pairs, query subsets, key subsets, two dictionaries", arguments: firstPasses)
    func generatedJobs(engines: Engines) throws {
        let a = try TestDictionary.make(features: 701, dimension: 67, seed: 25, dead: [5, 80, 700],
                                        duplicates: [(copy: 100, of: 7), (copy: 300, of: 7)])
        let b = try TestDictionary.make(features: 389, dimension: 67, seed: 26, dead: [1])
        let matrix = try a.open(), other = try b.open()
        let all = Array(0..<701)
        try Self.expectSame(try NeighborSearch(dictionary: matrix, queries: all, keys: all, k: 9), engines, "all pairs")
        try Self.expectSame(try NeighborSearch(dictionary: matrix, queries: all, keys: all, k: 1), engines, "all pairs, k 1")
        let subset = Array(stride(from: 3, to: 701, by: 7))
        try Self.expectSame(try NeighborSearch(dictionary: matrix, queries: subset, keys: all, k: 12), engines, "query subset")
        try Self.expectSame(try NeighborSearch(dictionary: matrix, queries: all, keys: Array(200..<650), k: 5), engines,
                            "key subset")
        try Self.expectSame(try NeighborSearch(dictionary: matrix, queries: subset, keyDictionary: other,
                                               keys: Array(0..<389), k: 10), engines, "two dictionaries")
        // k beyond the keys: padded rows, lists that never fill.
        try Self.expectSame(try NeighborSearch(dictionary: matrix, queries: subset, keys: Array(0..<40), k: 50), engines,
                            "k beyond the keys")
    }

    /// Rows the first pass cannot order: exact ties at the k-th cosine (duplicated keys), keys
    /// closer than the bound (near-duplicates and a tight cluster), dead rows, huge and tiny norms.
    static func adversarial() throws -> TestDictionary {
        let features = 400, d = 96
        var rng = SeededGenerator(seed: 2525)
        var values = (0..<(features * d)).map { _ in Float(rng.gaussian()) }
        func set(_ f: Int, _ row: (Int) -> Float) { for i in 0..<d { values[f * d + i] = row(i) } }
        func base(_ f: Int) -> (Int) -> Float { { values[f * d + $0] } }
        // Exact ties: ten copies of row 19, near row 18, so that the k-th of 18's list is inside them.
        set(18, { values[19 * d + $0] + 0.3 * Float(rng.gaussian()) })
        for f in 20..<30 { set(f, base(19)) }
        // Near-duplicates of row 3, cosines apart by 1e-7 to 1e-4 (far inside bfloat16's ~3e-3).
        for (offset, epsilon) in [(10, 1e-4), (11, 1e-5), (12, 1e-6), (13, 1e-7), (14, 2e-5)] as [(Int, Float)] {
            set(offset, { values[3 * d + $0] + ($0 % 3 == 0 ? epsilon : -epsilon / 2) * values[3 * d + $0] })
        }
        // A tight cluster: 40 rows at cosine ~0.9999 of one direction (all within the bound of each other).
        for f in 100..<140 { set(f, { values[99 * d + $0] + 0.01 * Float(rng.gaussian()) }) }
        // Dead rows, and huge and tiny norms (the same directions as live rows elsewhere).
        set(50, { _ in 0 }); set(51, { _ in 0 })
        set(60, { values[61 * d + $0] * 0x1p60 })
        set(62, { values[63 * d + $0] * 0x1p-60 })
        set(64, { values[65 * d + $0] * 0x1p-60 + ($0 == 0 ? 0x1p-70 : 0) })
        let path = TestFiles.path("bf16-adversarial.npy")
        try NpyWriter.write(float32: values, rows: features, columns: d, to: path)
        return TestDictionary(features: features, dimension: d, values: values, path: path)
    }

    /// The Definitions' answers on `adversarial()`, by k (computed once for all the engines).
    static let references = Locked<[Int: (indices: [Int64], scores: [Float])]>([:])

    @Test("ties at the k-th cosine, near-duplicates closer than the bound, dead rows, huge and tiny norms",
          arguments: firstPasses)
    func adversarialRows(engines: Engines) throws {
        let dictionary = try Self.adversarial()
        let matrix = try dictionary.open()
        let all = Array(0..<dictionary.features)
        for k in [1, 5, 12, 45] {
            let result = try Self.expectSame(try NeighborSearch(dictionary: matrix, queries: all, keys: all, k: k), engines,
                                             "adversarial all pairs k \(k)")
            // An independent reference (the Definitions in plain float64): the same neighbours.
            let reference = Self.references.withLock { known in
                if let found = known[k] { return found }
                known[k] = dictionary.referenceNeighbors(queries: all, keys: all, k: k)
                return known[k]!
            }
            #expect(result.indices == reference.indices, "k \(k): not the Definitions' neighbours")
            #expect(zip(result.scores, reference.scores).allSatisfy { $0 == $1 || abs($0 - $1) <= 1e-6 })
        }
        let queries = [3, 10, 13, 18, 19, 50, 60, 62, 64, 99, 120]
        try Self.expectSame(try NeighborSearch(dictionary: matrix, queries: queries, keys: all, k: 6), engines,
                            "adversarial query subset")
    }

    @Test("the plan counts the rounded tiles (2 bytes a value native, 4 portable) and stays within the budget")
    func plannedRoundedTiles() throws {
        for allPairs in [false, true] {
            let problem = TilePlanner.Problem(queries: allPairs ? 5000 : 1000, keys: 5000, dimension: 300, k: 10,
                                              candidates: NeighborSearch.candidates(k: 10, keys: 5000, firstPass: true),
                                              allPairs: allPairs)
            for (portable, bytes) in [(false, 2), (true, 4)] {
                let engine = Self.bfloat16(portable: portable)
                #expect(engine.capabilities.firstPassValueBytes == (BFloat16Product.best == .native || portable ? bytes : 4))
                let budget = 8 << 20
                let device = TilePlanner.Device(id: "cpu", capabilities: engine.capabilities, deviceMemory: 1 << 40, budget: budget)
                let plan = try TilePlanner.plan(problem, devices: [device]).devices[0]
                let rounded = plan.buffers.filter { $0.name.hasPrefix("rounded") }
                let perValue = engine.capabilities.firstPassValueBytes
                #expect(rounded.map(\.bytes).sorted() == [plan.keyTile * 300 * perValue, (allPairs ? plan.keyTile : plan.queryBlock) * 300 * perValue].sorted())
                #expect(plan.deviceBytes + plan.stagingBytes <= budget)
                let float32 = TilePlanner.Device(id: "cpu", capabilities: CPUEngine().capabilities, deviceMemory: 1 << 40, budget: budget)
                #expect(try TilePlanner.plan(problem, devices: [float32]).devices[0].buffers.allSatisfy { !$0.name.hasPrefix("rounded") })
            }
        }
    }
}
