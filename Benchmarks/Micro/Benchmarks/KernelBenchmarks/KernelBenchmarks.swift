import Benchmark
import SaegeoCore

// One step of each kernel per iteration, inputs prepared outside the measured loop. The
// throughput metric counts work items: flops for the products, candidates offered for the
// selections. OpenCL benchmarks run on opencl:0 when there is one.
let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(metrics: [.wallClock, .throughput], warmupIterations: 2,
                                           maxDuration: .seconds(3), maxIterations: 200)

    for d in [2304, 4608] {
        Benchmark("sgemm 512x2048xd\(d) (cpu similarity)", configuration: .init(scalingFactor: .one)) { benchmark in
            let sgemm = KernelMicrobenchmarks.Sgemm(rows: 512, columns: 2048, dimension: d)
            benchmark.startMeasurement()
            for _ in benchmark.scaledIterations { sgemm.run() }
        }
        Benchmark("similarity kernel 256x1024xd\(d) (opencl:0)") { benchmark in
            guard let kernel = try? KernelMicrobenchmarks.Similarity(device: 0, rows: 256, columns: 1024, dimension: d) else { return }
            benchmark.startMeasurement()
            for _ in benchmark.scaledIterations { try kernel.run() }
        }
    }
    for k in [1, 32, 256] {
        Benchmark("candidate selection k\(k), 256 rows x 4096 keys (cpu, one core)") { benchmark in
            let selection = KernelMicrobenchmarks.CandidateSelection(k: k, rows: 256, keys: 4096)
            benchmark.startMeasurement()
            for _ in benchmark.scaledIterations { blackHole(selection.run()) }
        }
        Benchmark("top-k merge kernel k\(k), 256 rows x 4096 keys (opencl:0)") { benchmark in
            guard let merge = try? KernelMicrobenchmarks.TopKMerge(device: 0, k: k, rows: 256) else { return }
            benchmark.startMeasurement()
            for _ in benchmark.scaledIterations { try merge.run() }
        }
    }
}
