import Foundation
@testable import SaegeoCore

/// A random decoder matrix with the awkward parts real ones have: varying norms, dead rows
/// (zero and non-finite), exact duplicate rows, written to a real .npy file.
struct TestDictionary {
    let features: Int
    let dimension: Int
    let values: [Float]
    let path: String

    static func make(features: Int, dimension: Int, seed: UInt64, dead: [Int] = [], nonFinite: [Int] = [],
                     duplicates: [(copy: Int, of: Int)] = []) throws -> TestDictionary {
        var rng = SeededGenerator(seed: seed)
        var values = (0..<(features * dimension)).map { _ in Float(rng.gaussian()) }
        for f in 0..<features {
            let scale = Float(0.1 + 3 * Double.random(in: 0..<1, using: &rng))
            for i in 0..<dimension { values[f * dimension + i] *= scale }
        }
        for (copy, source) in duplicates {
            for i in 0..<dimension { values[copy * dimension + i] = values[source * dimension + i] }
        }
        for f in dead { for i in 0..<dimension { values[f * dimension + i] = 0 } }
        for f in nonFinite { values[f * dimension + dimension / 2] = .infinity }
        let path = TestFiles.folder.appendingPathComponent("dict-\(features)x\(dimension)-\(seed).npy").path
        try NpyWriter.write(float32: values, rows: features, columns: dimension, to: path)
        return TestDictionary(features: features, dimension: dimension, values: values, path: path)
    }

    func open() throws -> FeatureMatrix { try SAECheckpoint.open(path).decoder() }


    /// The Definitions, written plainly in float64: cosine of every live key, self and dead
    /// excluded, sorted by score descending then id ascending, padded with -1 / -inf.
    func referenceNeighbors(queries: [Int], keys: [Int], k: Int) -> (indices: [Int64], scores: [Float]) {
        func row(_ f: Int) -> [Double] { (0..<dimension).map { Double(values[f * dimension + $0]) } }
        func norm(_ x: [Double]) -> Double {
            var s = 0.0
            for v in x { s += v * v }
            return s.squareRoot()
        }
        let keySet = Array(Set(keys)).sorted()
        var indices: [Int64] = []
        var scores: [Float] = []
        for q in queries {
            let x = row(q), nx = norm(x)
            var found: [(Int, Double)] = []
            if nx.isFinite && nx > 0 {
                for key in keySet where key != q {
                    let y = row(key), ny = norm(y)
                    guard ny.isFinite && ny > 0 else { continue }
                    var dot = 0.0
                    for i in 0..<dimension { dot += x[i] * y[i] }
                    found.append((key, dot / (nx * ny)))
                }
            }
            found.sort { $0.1 != $1.1 ? $0.1 > $1.1 : $0.0 < $1.0 }
            for slot in 0..<k {
                indices.append(slot < found.count ? Int64(found[slot].0) : -1)
                scores.append(slot < found.count ? Float(found[slot].1) : -.infinity)
            }
        }
        return (indices, scores)
    }
}

enum TestFiles {
    /// One scratch folder per test process.
    static let folder: URL = {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("saegeo-tests-\(getpid())")
        try? FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        // Removed when the test process exits (a C callback cannot capture, so it rebuilds the path).
        atexit {
            let folder = FileManager.default.temporaryDirectory.appendingPathComponent("saegeo-tests-\(getpid())")
            try? FileManager.default.removeItem(at: folder)
        }
        return url
    }()

    static func path(_ name: String) -> String { folder.appendingPathComponent(name).path }

    static func write(_ text: String, to name: String) throws -> String {
        let p = path(name)
        try text.write(toFile: p, atomically: true, encoding: .utf8)
        return p
    }
}
