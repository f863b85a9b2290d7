import Testing
@testable import SaegeoCore

/// The dataset summary's null sets, several per search, give exactly the proximities of one
/// ToxicProximity pass per set (dead features, duplicates and overlapping sets included).
struct NullProximityTests {
    @Test("null sets sharing a search: bit-identical to one proximity pass per set, on every backend")
    func sharedSearchMatchesOnePassPerSet() throws {
        let dictionary = try TestDictionary.make(features: 613, dimension: 37, seed: 21, dead: [5, 300],
                                                 duplicates: [(copy: 17, of: 400)])
        let decoder = try dictionary.open()
        var rng = SeededGenerator(seed: 4)
        // Sets of 7 with overlaps, a dead key, a duplicate pair, and keys that are queries.
        var sets = (0..<9).map { _ in (0..<7).map { _ in Int(rng.next() % 613) } }.map { Array(Set($0)) }
        sets.append([5, 17, 400, 2])
        let norms = FeatureNorms(of: decoder, features: Array(0..<613))
        for backend in BackendCase.all.prefix(3) {
            let engines = try backend.makeEngines()
            let shared = try DatasetSummary.nullProximities(sets, decoder: decoder, norms: norms, engines: engines, memoryBudget: nil)
            #expect(shared.count == sets.count)
            // Only some features asked for (those a dataset activates): theirs, the rest 0.
            let asked = (0..<613).filter { $0 % 3 != 1 }
            let some = try DatasetSummary.nullProximities(sets, decoder: decoder, norms: norms, engines: engines,
                                                          memoryBudget: nil, queries: asked)
            for (index, set) in sets.enumerated() {
                let want = try ToxicProximity.compute(decoder: decoder, toxic: set, engines: engines).proximity
                #expect(shared[index].map(\.bitPattern) == want.map(\.bitPattern), "\(backend) set \(set)")
                #expect(asked.map { some[index][$0].bitPattern } == asked.map { want[$0].bitPattern }, "\(backend) set \(set), some features")
            }
        }
    }
}
