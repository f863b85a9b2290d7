// Benchmark: the whole exact top-k search on the CPU engine against a bare cblas_sgemm of the
// same product, in one process, alternating A B A B so that machine drift hits both alike.
//
//   saegeo-bench-search [--queries 2048] [--keys 65536] [--dim 2304] [--k 32] [--runs 3]
//                       [--mode both|search|sgemm] [--file PATH]
//
// The dictionary is generated once (random float32 rows) into a .npy file that both sides read
// through the same memory map. The bare product is C = Q * K^T on the raw rows, one call,
// [queries, keys] float32 output; the search adds norms, normalisation, top-k selection and the
// float64 re-scoring of the candidates.
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
let path = textOption("--file", FileManager.default.temporaryDirectory.appendingPathComponent("saegeo-bench-\(keys)x\(dim).npy").path)

if !FileManager.default.fileExists(atPath: path) {
    FileHandle.standardError.write(Data("generating \(keys) x \(dim) float32 dictionary at \(path)\n".utf8))
    var rng = SeededGenerator(seed: 42)
    let values = (0..<(keys * dim)).map { _ in Float(Int64(bitPattern: rng.next() >> 1) % 2_000_001 - 1_000_000) * 1e-6 }
    try NpyWriter.write(float32: values, rows: keys, columns: dim, to: path)
}

let dictionary = try SAECheckpoint.open(path).decoder()
let mapped = try MappedFile(path: path)
let header = mapped.size - keys * dim * 4
let raw = (mapped.bytes.baseAddress! + header).assumingMemoryBound(to: Float.self)
let flops = 2 * Double(queries) * Double(keys) * Double(dim)

func seconds(_ body: () throws -> Void) rethrows -> Double {
    let start = DispatchTime.now()
    try body()
    return Double(DispatchTime.now().uptimeNanoseconds - start.uptimeNanoseconds) / 1e9
}

var product = [Float](repeating: 0, count: queries * keys)
@MainActor func bareProduct() -> Double {
    // The search sets OpenBLAS to one thread per call (it runs its own threads); the bare
    // product gets every core.
    openblas_set_num_threads(Int32(ProcessInfo.processInfo.activeProcessorCount))
    return seconds {
        product.withUnsafeMutableBufferPointer { c in
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, blasint(queries), blasint(keys), blasint(dim),
                        1, raw, blasint(dim), raw, blasint(dim), 0, c.baseAddress!, blasint(keys))
        }
    }
}

@MainActor func search() throws -> Double {
    let job = try NeighborSearch(dictionary: dictionary, queries: Array(0..<queries), keys: Array(0..<keys), k: k)
    var exhaustive = 0
    let t = try seconds { exhaustive = try job.run(on: CPUEngine()).exhaustiveRows }
    if exhaustive > 0 { FileHandle.standardError.write(Data("note: \(exhaustive) rows ranked exhaustively\n".utf8)) }
    return t
}

print("shape: \(queries) queries x \(keys) keys x d \(dim), k \(k); OpenBLAS \(String(cString: openblas_get_corename())), \(openblas_get_num_threads()) threads")
var searchTimes: [Double] = [], gemmTimes: [Double] = []
for run in 0..<runs {
    if mode != "search" { gemmTimes.append(bareProduct()) }
    if mode != "sgemm" { searchTimes.append(try search()) }
    let g = gemmTimes.last.map { String(format: "sgemm %.3f s (%.1f GFLOP/s)", $0, flops / $0 / 1e9) } ?? ""
    let s = searchTimes.last.map { String(format: "search %.3f s (%.1f GFLOP/s)", $0, flops / $0 / 1e9) } ?? ""
    let r = (gemmTimes.last != nil && searchTimes.last != nil) ? String(format: "ratio %.3f", searchTimes.last! / gemmTimes.last!) : ""
    print("run \(run + 1): \(g)  \(s)  \(r)")
}
if !gemmTimes.isEmpty && !searchTimes.isEmpty {
    let ratios = zip(searchTimes, gemmTimes).map { $0 / $1 }.sorted()
    print(String(format: "search / bare sgemm: median %.3f (min %.3f, max %.3f) over %d pairs",
                 ratios[ratios.count / 2], ratios.first!, ratios.last!, ratios.count))
}
