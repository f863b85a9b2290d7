/// A generated decoder matrix with known geometry: random unit directions, plus for each of the
/// first `toxic` features a set of neighbours placed at known cosines (0.9, 0.8, ... down by 0.1).
public struct PlantedDictionary: Sendable {
    public let features: Int
    public let dimension: Int
    public var values: [Float]
    /// For each feature, the toxic feature it was planted next to, or -1.
    public let plantedOwner: [Int]

    public static func generate(features: Int, dimension: Int, toxic: Int, neighboursPerToxic: Int,
                                seed: UInt64) -> PlantedDictionary {
        var rng = SeededGenerator(seed: seed)
        var values = [Float](repeating: 0, count: features * dimension)
        var owner = [Int](repeating: -1, count: features)
        func unitRandom() -> [Double] {
            var v = (0..<dimension).map { _ in rng.gaussian() }
            let n = v.reduce(0) { $0 + $1 * $1 }.squareRoot()
            for i in v.indices { v[i] /= n }
            return v
        }
        var rows: [[Double]] = []
        rows.reserveCapacity(features)
        for _ in 0..<features { rows.append(unitRandom()) }
        var next = toxic
        for t in 0..<toxic {
            for j in 0..<neighboursPerToxic where next < features {
                let cosine = 0.9 - 0.1 * Double(j)
                // u: a random direction made orthogonal to the toxic one.
                var u = unitRandom()
                let along = zip(u, rows[t]).reduce(0) { $0 + $1.0 * $1.1 }
                for i in u.indices { u[i] -= along * rows[t][i] }
                let n = u.reduce(0) { $0 + $1 * $1 }.squareRoot()
                let sine = (1 - cosine * cosine).squareRoot()
                rows[next] = (0..<dimension).map { cosine * rows[t][$0] + sine * u[$0] / n }
                owner[next] = t
                next += 1
            }
        }
        for f in 0..<features {
            // Decoder norms vary in real SAEs; scale rows so normalisation is exercised.
            let scale = 0.5 + Double(f % 7) * 0.25
            for i in 0..<dimension { values[f * dimension + i] = Float(rows[f][i] * scale) }
        }
        return PlantedDictionary(features: features, dimension: dimension, values: values, plantedOwner: owner)
    }

    public func writeNpy(to path: String) throws {
        try NpyWriter.write(float32: values, rows: features, columns: dimension, to: path)
    }
}
