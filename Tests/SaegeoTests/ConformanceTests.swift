import Foundation
import Testing
@testable import SaegeoCore

/// The one suite that holds every backend to the Definitions: each engine configuration against
/// a plain float64 reference, on shapes that are multiples of no tile, with exact ties, dead rows,
/// k beyond the number of keys, and queries / keys as `all` and as subsets.
struct ConformanceTests {
    struct Shape: CustomStringConvertible, Sendable {
        let features: Int
        let dimension: Int
        let k: Int
        let querySubset: Int?   // nil: all
        let keySubset: Int?     // nil: all
        var description: String {
            "\(features)x\(dimension) k \(k) queries \(querySubset.map(String.init) ?? "all") keys \(keySubset.map(String.init) ?? "all")"
        }
    }

    static let shapes: [Shape] = [
        Shape(features: 1, dimension: 1, k: 1, querySubset: nil, keySubset: nil),
        Shape(features: 7, dimension: 3, k: 10, querySubset: nil, keySubset: nil),
        Shape(features: 255, dimension: 17, k: 5, querySubset: nil, keySubset: nil),
        Shape(features: 300, dimension: 64, k: 150, querySubset: nil, keySubset: 123),
        Shape(features: 1037, dimension: 600, k: 33, querySubset: 41, keySubset: nil),
        Shape(features: 513, dimension: 129, k: 1, querySubset: 77, keySubset: 400),
        Shape(features: 1500, dimension: 9, k: 1100, querySubset: 25, keySubset: nil),
    ]

    /// Dictionaries and references are made once per shape and shared by every backend.
    final class Fixture: @unchecked Sendable {
        let dictionary: TestDictionary
        let queries: [Int]
        let keys: [Int]
        let reference: (indices: [Int64], scores: [Float])
        var firstResult: NeighborResult?

        init(_ shape: Shape, seed: UInt64) throws {
            let n = shape.features
            // Dead rows, a non-finite row and exact duplicates wherever the size allows.
            let dead = n > 10 ? [3, n - 2] : []
            let nonFinite = n > 10 ? [7] : []
            let duplicates: [(copy: Int, of: Int)] = n > 20 ? [(11, 5), (12, 5), (19, 5), (n - 1, 13)] : []
            dictionary = try TestDictionary.make(features: n, dimension: shape.dimension, seed: seed,
                                                 dead: dead, nonFinite: nonFinite, duplicates: duplicates)
            var rng = SeededGenerator(seed: seed &+ 1)
            func subset(_ size: Int?) -> [Int] {
                guard let size else { return Array(0..<n) }
                // Always include a dead row, a duplicate and its source when present.
                let forced = n > 20 ? [3, 5, 11, 12] : []
                return Array(Set(forced + (0..<n).shuffled(using: &rng).prefix(size))).sorted()
            }
            queries = subset(shape.querySubset)
            keys = subset(shape.keySubset)
            reference = dictionary.referenceNeighbors(queries: queries, keys: keys, k: shape.k)
        }
    }

    static let fixtures: [(Shape, Fixture)] = shapes.enumerated().map { index, shape in
        (shape, try! Fixture(shape, seed: UInt64(100 + index)))
    }

    @Test("every backend matches the float64 reference, bit-identically across backends",
          arguments: BackendCase.all)
    func backendMatchesReference(backend: BackendCase) throws {
        for (shape, fixture) in Self.fixtures {
            let search = try NeighborSearch(dictionary: try fixture.dictionary.open(), queries: fixture.queries,
                                            keys: fixture.keys, k: shape.k, memoryBudget: backend.memoryBudget)
            let result = try search.run(on: try backend.makeEngines())
            #expect(result.queryIds == fixture.queries.map(Int64.init), "\(backend) \(shape)")
            #expect(result.indices == fixture.reference.indices, "\(backend) \(shape): indices differ from the reference")
            let worst = zip(result.scores, fixture.reference.scores).map { a, b in
                a == b ? 0 : (a.isFinite && b.isFinite ? abs(a - b) : .infinity)
            }.max() ?? 0
            #expect(worst <= 1e-6, "\(backend) \(shape): scores differ from the reference by \(worst)")
        }
    }

    @Test("all backends give bit-identical indices and scores")
    func backendsAgreeBitForBit() throws {
        for (shape, fixture) in Self.fixtures {
            var first: (String, NeighborResult)?
            for backend in BackendCase.all {
                let search = try NeighborSearch(dictionary: try fixture.dictionary.open(), queries: fixture.queries,
                                                keys: fixture.keys, k: shape.k, memoryBudget: backend.memoryBudget)
                let result = try search.run(on: try backend.makeEngines())
                if let (name, expected) = first {
                    #expect(result.indices == expected.indices, "\(backend) vs \(name), \(shape)")
                    #expect(result.scores.map(\.bitPattern) == expected.scores.map(\.bitPattern),
                            "\(backend) vs \(name), \(shape)")
                } else {
                    first = (backend.description, result)
                }
            }
        }
    }

    @Test("dead features are never neighbours and their own rows are empty", arguments: BackendCase.all)
    func deadFeatures(backend: BackendCase) throws {
        let (shape, fixture) = Self.fixtures[2]
        let result = try NeighborSearch(dictionary: try fixture.dictionary.open(), queries: fixture.queries,
                                        keys: fixture.keys, k: shape.k, memoryBudget: backend.memoryBudget)
            .run(on: try backend.makeEngines())
        let deadIds: Set<Int64> = [3, 7, Int64(shape.features - 2)]
        #expect(!result.indices.contains { deadIds.contains($0) })
        let row3 = Array(result.indices[(3 * shape.k)..<(4 * shape.k)])
        #expect(row3 == [Int64](repeating: -1, count: shape.k))
        // Feature 5 has exact copies 11, 12 and 19: they tie at cosine 1 and come in id order.
        let row5 = Array(result.indices[(5 * shape.k)..<(5 * shape.k + 3)])
        #expect(row5 == [11, 12, 19])
        #expect(Array(result.scores[(5 * shape.k)..<(5 * shape.k + 3)]) == [1, 1, 1])
    }
}
