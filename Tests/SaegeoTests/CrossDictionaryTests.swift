import Foundation
import Testing
@testable import SaegeoCore

/// Neighbours across two dictionaries (DESIGN.md): A's features among B's, of another width, file
/// format and dtype; no self-exclusion, dead features of either side excluded; mutual nearest
/// pairs; the command line, shards and merge. Every answer is held to a plain float64 reference.
struct CrossDictionaryTests {
    /// A: 37 x 23 float32 in a bare .safetensors; B: 61 x 23 bfloat16, stored as columns [23, 61]
    /// beside a bias vector (so opening it needs --keys-tensor and --keys-layout).
    final class Pair: Sendable {
        static let dimension = 23, featuresA = 37, featuresB = 61
        let a: [Float]
        /// B as saegeo reads it: the bfloat16 values, exactly.
        let b: [Float]
        let pathA: String
        let pathB: String
        static let optionsB = SAECheckpoint.Options(tensor: "dec", layout: .columns)

        init(seed: UInt64, name: String) throws {
            let d = Self.dimension, nA = Self.featuresA, nB = Self.featuresB
            var rng = SeededGenerator(seed: seed)
            func rows(_ n: Int) -> [Float] {
                var v = (0..<(n * d)).map { _ in Float(rng.gaussian()) }
                for f in 0..<n {
                    let scale = Float(0.2 + 2 * Double.random(in: 0..<1, using: &rng))
                    for i in 0..<d { v[f * d + i] *= scale }
                }
                return v
            }
            var a = rows(nA)
            var b = CheckpointBytes.decode(CheckpointBytes.encode(rows(nB), as: "BF16"), as: "BF16")
            func row(_ v: [Float], _ f: Int) -> [Float] { Array(v[(f * d)..<((f + 1) * d)]) }
            func set(_ v: inout [Float], _ f: Int, _ values: [Float]) { for i in 0..<d { v[f * d + i] = values[i] } }
            // Across the dictionaries: exact copies and a scaled copy (cosine exactly 1, never
            // excluded), an opposite; B 10 ties with B 4, A 9 with A 5.
            set(&b, 10, row(b, 4))
            set(&a, 5, row(b, 4))
            set(&a, 9, row(b, 4))
            set(&a, 6, row(b, 20).map { 2 * $0 })
            set(&a, 8, row(b, 21).map { -$0 })
            set(&a, 36, row(b, 60))
            // Dead rows on both sides: zero and not finite.
            set(&a, 3, [Float](repeating: 0, count: d))
            a[30 * d + 7] = .nan
            for f in [0, 44] { set(&b, f, [Float](repeating: 0, count: d)) }
            b[50 * d + 3] = .infinity
            self.a = a
            self.b = b
            pathA = TestFiles.path("\(name)-A.safetensors")
            pathB = TestFiles.path("\(name)-B.safetensors")
            try CheckpointBytes.write(CheckpointBytes.safetensors([
                .init(name: "W_dec", dtype: "F32", shape: [nA, d], bytes: CheckpointBytes.encode(a, as: "F32")),
            ]), to: pathA)
            try CheckpointBytes.write(CheckpointBytes.safetensors([
                .init(name: "bias", dtype: "BF16", shape: [d], bytes: CheckpointBytes.encode([Float](repeating: 0.5, count: d), as: "BF16")),
                .init(name: "dec", dtype: "BF16", shape: [d, nB],
                      bytes: CheckpointBytes.encode(CheckpointBytes.transpose(b, rows: nB, columns: d), as: "BF16")),
            ]), to: pathB)
        }

        func openA() throws -> FeatureMatrix { try SAECheckpoint.open(pathA).decoder() }
        func openB() throws -> FeatureMatrix { try SAECheckpoint.open(pathB, options: Self.optionsB).decoder() }

        // MARK: the reference, written plainly in float64

        static func norm(_ v: [Float], _ f: Int) -> Double {
            var s = 0.0
            for i in 0..<dimension { s += Double(v[f * dimension + i]) * Double(v[f * dimension + i]) }
            return s.squareRoot()
        }

        static func live(_ v: [Float], _ f: Int) -> Bool { let n = norm(v, f); return n.isFinite && n > 0 }

        static func cosine(_ x: [Float], _ f: Int, _ y: [Float], _ g: Int) -> Double {
            var dot = 0.0
            for i in 0..<dimension { dot += Double(x[f * dimension + i]) * Double(y[g * dimension + i]) }
            return dot / (norm(x, f) * norm(y, g))
        }

        /// For each query of `x`, the k best live keys of `y`, nothing excluded as self.
        static func neighbors(of queries: [Int], in x: [Float], keys: [Int], of y: [Float], k: Int) -> (indices: [Int64], scores: [Float]) {
            var indices: [Int64] = [], scores: [Float] = []
            for q in queries {
                var found: [(Int, Double)] = []
                if live(x, q) {
                    for key in Set(keys).sorted() where live(y, key) { found.append((key, cosine(x, q, y, key))) }
                }
                found.sort { $0.1 != $1.1 ? $0.1 > $1.1 : $0.0 < $1.0 }
                for slot in 0..<k {
                    indices.append(slot < found.count ? Int64(found[slot].0) : -1)
                    scores.append(slot < found.count ? Float(found[slot].1) : -.infinity)
                }
            }
            return (indices, scores)
        }

        func reference(queries: [Int], keys: [Int], k: Int) -> (indices: [Int64], scores: [Float]) {
            Self.neighbors(of: queries, in: a, keys: keys, of: b, k: k)
        }

        /// Mutual pairs: A's top-1 of a among `keys`, B's top-1 of b among all of A.
        func referencePairs(queries: [Int], keys: [Int]) -> [(a: Int64, b: Int64, cosine: Float)] {
            let forward = Self.neighbors(of: queries, in: a, keys: keys, of: b, k: 1)
            var pairs: [(a: Int64, b: Int64, cosine: Float)] = []
            for (row, q) in queries.enumerated() where forward.indices[row] >= 0 && !pairs.contains(where: { $0.a == Int64(q) }) {
                let nearest = Int(forward.indices[row])
                let back = Self.neighbors(of: [nearest], in: b, keys: Array(0..<Self.featuresA), of: a, k: 1)
                if back.indices[0] == Int64(q) { pairs.append((Int64(q), Int64(nearest), forward.scores[row])) }
            }
            return pairs.sorted { $0.a < $1.a }
        }
    }

    static let pair = try! Pair(seed: 77, name: "cross")

    struct Case: CustomStringConvertible, Sendable {
        let queries: [Int]
        let keys: [Int]
        let k: Int
        var description: String { "queries \(queries.count) keys \(keys.count) k \(k)" }
    }

    static let cases: [Case] = [
        Case(queries: Array(0..<Pair.featuresA), keys: Array(0..<Pair.featuresB), k: 5),
        // A subset with dead rows, the copies and a repeated id; the keys all.
        Case(queries: [3, 5, 9, 6, 8, 30, 36, 5, 12], keys: Array(0..<Pair.featuresB), k: 1),
        // More neighbours than live keys: the tail is -1 / -inf.
        Case(queries: Array(0..<Pair.featuresA), keys: [0, 4, 10, 20, 21, 44, 50, 60, 33, 17], k: 12),
        Case(queries: [5, 9, 0, 1, 2, 36], keys: Array(stride(from: 0, to: Pair.featuresB, by: 2)) + [21], k: 70),
    ]

    static func worstDifference(_ x: [Float], _ y: [Float]) -> Float {
        zip(x, y).map { a, b in a == b ? 0 : (a.isFinite && b.isFinite ? abs(a - b) : .infinity) }.max() ?? 0
    }

    @Test("A's features among B's match the float64 reference on every backend", arguments: BackendCase.all)
    func matchesReference(backend: BackendCase) throws {
        let pair = Self.pair
        for c in Self.cases {
            let search = try NeighborSearch(dictionary: try pair.openA(), queries: c.queries, keyDictionary: try pair.openB(),
                                            keys: c.keys, k: c.k, memoryBudget: backend.memoryBudget)
            let result = try search.run(on: try backend.makeEngines())
            let reference = pair.reference(queries: c.queries, keys: c.keys, k: c.k)
            #expect(!result.allPairs)
            #expect(result.queryIds == c.queries.map(Int64.init), "\(backend) \(c)")
            #expect(result.indices == reference.indices, "\(backend) \(c): indices differ from the reference")
            #expect(Self.worstDifference(result.scores, reference.scores) <= 1e-6, "\(backend) \(c): scores differ")
        }
    }

    @Test("cross-dictionary results are bit-identical across backends; copies are not excluded and tie at 1")
    func bitIdenticalAcrossBackends() throws {
        let pair = Self.pair
        for c in Self.cases {
            var first: (String, NeighborResult)?
            for backend in BackendCase.all {
                let search = try NeighborSearch(dictionary: try pair.openA(), queries: c.queries, keyDictionary: try pair.openB(),
                                                keys: c.keys, k: c.k, memoryBudget: backend.memoryBudget)
                let result = try search.run(on: try backend.makeEngines())
                if let (name, expected) = first {
                    #expect(result.indices == expected.indices, "\(backend) vs \(name), \(c)")
                    #expect(result.scores.map(\.bitPattern) == expected.scores.map(\.bitPattern), "\(backend) vs \(name), \(c)")
                } else {
                    first = (backend.description, result)
                }
            }
        }
        // A 5 is B 4 and B 10 exactly; A 6 is twice B 20: cosine 1, id 5 of A is no "self" of B 5.
        let k = Self.cases[0].k
        let result = try NeighborSearch(dictionary: try pair.openA(), queries: Self.cases[0].queries,
                                        keyDictionary: try pair.openB(), keys: Self.cases[0].keys, k: k).run(on: CPUEngine())
        #expect(Array(result.indices[(5 * k)..<(5 * k + 2)]) == [4, 10])
        #expect(Array(result.scores[(5 * k)..<(5 * k + 2)]) == [1, 1])
        #expect(result.indices[6 * k] == 20 && result.scores[6 * k] == 1)
        #expect(Array(result.indices[(3 * k)..<(4 * k)]) == [Int64](repeating: -1, count: k), "a dead query's row is empty")
        #expect(Array(result.indices[(30 * k)..<(31 * k)]) == [Int64](repeating: -1, count: k))
        #expect(!result.indices.contains { [0, 44, 50].contains($0) }, "dead keys are never neighbours")
    }

    @Test("mutual pairs match the float64 reference",
          arguments: TestBackends.firstOfEachBackend)
    func mutualPairs(device: String) throws {
        let pair = Self.pair
        let engines = [try TestBackends.catalog().engine(for: device)]
        for c in Self.cases {
            let search = try NeighborSearch(dictionary: try pair.openA(), queries: c.queries, keyDictionary: try pair.openB(),
                                            keys: c.keys, k: c.k)
            let (result, pairs) = try MutualPairs.search(search, on: engines)
            let reference = pair.referencePairs(queries: c.queries, keys: c.keys)
            #expect(result.indices == pair.reference(queries: c.queries, keys: c.keys, k: c.k).indices)
            #expect(pairs.a == reference.map(\.a), "\(device) \(c)")
            #expect(pairs.b == reference.map(\.b), "\(device) \(c)")
            #expect(Self.worstDifference(pairs.cosine, reference.map(\.cosine)) <= 1e-6, "\(device) \(c)")
            let live = Set(c.queries.filter { Pair.live(pair.a, $0) }).count
            #expect(pairs.liveQueries == live)
            #expect(pairs.fraction() == Double(reference.count) / Double(live))
        }
        // A 5 and A 9 are both B 4: B 4's top-1 is the lower id, so only (5, 4) is mutual.
        let all = try MutualPairs.search(NeighborSearch(dictionary: try pair.openA(), queries: Array(0..<Pair.featuresA),
                                                        keyDictionary: try pair.openB(), keys: Array(0..<Pair.featuresB), k: 2),
                                         on: engines).1
        #expect(all.a.contains(5) && !all.a.contains(9) && all.a.contains(6) && all.a.contains(36))
    }
}
