// Benchmark: the whole exact top-k search on the CPU engine against a bare cblas_sgemm of the
// same product, in one process, alternating A B A B so that machine drift hits both alike.
//
//   saegeo-bench-search [--queries 2048] [--keys 65536] [--dim 2304] [--k 32] [--runs 3]
//                       [--mode both|search|sgemm] [--dictionaries same|cross|both] [--file PATH]
//
// The dictionary is generated once (random float32 rows) into a .npy file that both sides read
// through the same memory map. The bare product is C = Q * K^T on the raw rows, one call,
// [queries, keys] float32 output; the search adds norms, normalisation, top-k selection and the
// float64 re-scoring of the candidates.
//
// `same`: the queries are the first rows of the dictionary, the keys all of it. `cross`: the
// neighbours across two dictionaries, the same queries among a second dictionary of the same shape
// (`--file` with `-b` before `.npy`; its own seed), against the bare product of those two matrices.
// `both` (the default) alternates sgemm-same, search-same, sgemm-cross, search-cross in each run.
import COpenBLAS
import Foundation
import SaegeoCore

func option(_ name: String, _ fallback: Int) -> Int {
    let args = CommandLine.arguments
    guard let i = args.firstIndex(of: name), i + 1 < args.count, let v = Int(args[i + 1]) else { return fallback }
    return v
}
func textOption(_ name: String, _ fallback: String) -> String {
    let args = CommandLine.arguments
    guard let i = args.firstIndex(of: name), i + 1 < args.count else { return fallback }
    return args[i + 1]
}

let queries = option("--queries", 2048), keys = option("--keys", 65536), dim = option("--dim", 2304)
let k = option("--k", 32), runs = option("--runs", 3)
let mode = textOption("--mode", "both")
let dictionaries = textOption("--dictionaries", "both")
let path = textOption("--file", FileManager.default.temporaryDirectory.appendingPathComponent("saegeo-bench-\(keys)x\(dim).npy").path)
let pathB = (path.hasSuffix(".npy") ? String(path.dropLast(4)) : path) + "-b.npy"

/// A generated dictionary, memory-mapped: the search's view and the raw rows the bare sgemm reads.
struct Dictionary {
    let matrix: FeatureMatrix
    let file: MappedFile
    let raw: UnsafePointer<Float>

    init(path: String, seed: UInt64) throws {
        if !FileManager.default.fileExists(atPath: path) {
            FileHandle.standardError.write(Data("generating \(keys) x \(dim) float32 dictionary at \(path)\n".utf8))
            var rng = SeededGenerator(seed: seed)
            let values = (0..<(keys * dim)).map { _ in Float(Int64(bitPattern: rng.next() >> 1) % 2_000_001 - 1_000_000) * 1e-6 }
            try NpyWriter.write(float32: values, rows: keys, columns: dim, to: path)
        }
        matrix = try SAECheckpoint.open(path).decoder()
        file = try MappedFile(path: path)
        raw = UnsafePointer((file.bytes.baseAddress! + (file.size - keys * dim * 4)).assumingMemoryBound(to: Float.self))
    }
}

let dictionary = try Dictionary(path: path, seed: 42)
let second = dictionaries == "same" ? nil : try Dictionary(path: pathB, seed: 43)
let flops = 2 * Double(queries) * Double(keys) * Double(dim)

func seconds(_ body: () throws -> Void) rethrows -> Double {
    let start = DispatchTime.now()
    try body()
    return Double(DispatchTime.now().uptimeNanoseconds - start.uptimeNanoseconds) / 1e9
}

var product = [Float](repeating: 0, count: queries * keys)
/// Q (the first rows of A) times the keys' rows (of A, or of B across two dictionaries).
@MainActor func bareProduct(keysOf keyRows: Dictionary) -> Double {
    // The search sets OpenBLAS to one thread per call (it runs its own threads); the bare
    // product gets every core.
    openblas_set_num_threads(Int32(ProcessInfo.processInfo.activeProcessorCount))
    return seconds {
        product.withUnsafeMutableBufferPointer { c in
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, blasint(queries), blasint(keys), blasint(dim),
                        1, dictionary.raw, blasint(dim), keyRows.raw, blasint(dim), 0, c.baseAddress!, blasint(keys))
        }
    }
}

@MainActor func search(keysOf keyRows: Dictionary?) throws -> Double {
    let job = try keyRows.map {
        try NeighborSearch(dictionary: dictionary.matrix, queries: Array(0..<queries), keyDictionary: $0.matrix,
                           keys: Array(0..<keys), k: k)
    } ?? NeighborSearch(dictionary: dictionary.matrix, queries: Array(0..<queries), keys: Array(0..<keys), k: k)
    var exhaustive = 0
    let t = try seconds { exhaustive = try job.run(on: CPUEngine()).exhaustiveRows }
    if exhaustive > 0 { FileHandle.standardError.write(Data("note: \(exhaustive) rows ranked exhaustively\n".utf8)) }
    return t
}

print("shape: \(queries) queries x \(keys) keys x d \(dim), k \(k); OpenBLAS \(String(cString: openblas_get_corename())), \(openblas_get_num_threads()) threads")
/// One side of the comparison: the same dictionary, or across two.
final class Series {
    let name: String
    let keys: Dictionary?   // nil: the queries' own dictionary
    var search: [Double] = [], gemm: [Double] = []
    init(_ name: String, keys: Dictionary?) { self.name = name; self.keys = keys }
}
var series: [Series] = []
if dictionaries != "cross" { series.append(Series("same", keys: nil)) }
if let second { series.append(Series("cross", keys: second)) }
for run in 0..<runs {
    var line = "run \(run + 1):"
    for side in series {
        if mode != "search" { side.gemm.append(bareProduct(keysOf: side.keys ?? dictionary)) }
        if mode != "sgemm" { side.search.append(try search(keysOf: side.keys)) }
        let g = side.gemm.last.map { String(format: " sgemm %.3f s (%.1f GFLOP/s)", $0, flops / $0 / 1e9) } ?? ""
        let s = side.search.last.map { String(format: " search %.3f s (%.1f GFLOP/s)", $0, flops / $0 / 1e9) } ?? ""
        let r = (side.gemm.last != nil && side.search.last != nil) ? String(format: " ratio %.3f", side.search.last! / side.gemm.last!) : ""
        line += "  [\(side.name)]\(g)\(s)\(r)"
    }
    print(line)
}
for side in series where !side.gemm.isEmpty && !side.search.isEmpty {
    let ratios = zip(side.search, side.gemm).map { $0 / $1 }.sorted()
    let median = { (x: [Double]) in x.sorted()[x.count / 2] }
    print(String(format: "%@: search / bare sgemm: median %.3f (min %.3f, max %.3f) over %d pairs; median search %.3f s, sgemm %.3f s; rate search / sgemm %.3f",
                 side.name, ratios[ratios.count / 2], ratios.first!, ratios.last!, ratios.count,
                 median(side.search), median(side.gemm), 1 / ratios[ratios.count / 2]))
}
