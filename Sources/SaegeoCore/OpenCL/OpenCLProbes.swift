import Foundation

/// The microbenchmarks of one OpenCL device: fp32 peak, memory bandwidth, host-to-device
/// transfer, the similarity kernel alone and the top-k merge alone, in the kernel configuration
/// the device's engine uses. Each runs for about `secondsPerProbe` (sized from a first short
/// run), best of `runs`.
final class OpenCLProbes: DeviceProbes {
    let resources: OpenCLDeviceResources
    let configuration: KernelConfiguration
    var device: OpenCLDevice { resources.device }
    var context: OpenCLContext { resources.context }
    var queue: OpenCLQueue { resources.compute }
    let secondsPerProbe: Double
    let runs: Int

    init(resources: OpenCLDeviceResources, configuration: KernelConfiguration, secondsPerProbe: Double, runs: Int) throws {
        self.resources = resources
        self.configuration = configuration
        self.secondsPerProbe = secondsPerProbe
        self.runs = runs
    }

    /// fp32 peak: the fastest of the fma kernels on float ... float16.
    func peakGFLOPS() throws -> (gflops: Double, kernel: String) {
        let iterations = 1024
        let program = try resources.program(["bench.cl"], options: "-DITERATIONS=\(iterations)")
        var best: (gflops: Double, kernel: String) = (0, "")
        for (type, lanes) in [("float", 1), ("float2", 2), ("float4", 4), ("float8", 8), ("float16", 16)] {
            let kernel = try program.kernel("peak_fma_\(type)")
            let group = min(256, try kernel.maxWorkGroupSize, device.limits.maxWorkGroupSize)
            // Enough work-items to fill every compute unit many times over.
            var items = roundUp(max(device.computeUnits, 1) * group * 16, to: group)
            let flopsPerItem = Double(iterations) * 8 * Double(lanes) * 2
            let out = try context.buffer(bytes: 64 * 1024 * 1024, label: "peak output")
            func run() throws {
                try queue.run(kernel, [.buffer(out), .float(0.999999), .float(1e-7)], global: [items], local: [group])
                try queue.finish()
            }
            // Grow the launch until one takes a good fraction of the probe's time.
            var seconds = try Stopwatch.seconds(run)
            while seconds < secondsPerProbe / 4, items * lanes * 4 * 2 <= out.bytes {
                items *= 2
                seconds = try Stopwatch.seconds(run)
            }
            let time = try Stopwatch.best(runs: runs, run)
            let gflops = Double(items) * flopsPerItem / time / 1e9
            if gflops > best.gflops { best = (gflops, type) }
        }
        return best
    }

    /// Memory bandwidth, bytes read plus written per second: the fastest of a streaming copy
    /// and the read kernels (see bench.cl).
    func bandwidthGBs() throws -> Double {
        let program = try resources.program(["bench.cl"], options: "-DITERATIONS=1")
        let bytes = min(256 * 1024 * 1024, device.limits.maxAllocationBytes / 2, device.limits.globalMemoryBytes / 4) / 1024 * 1024
        let from = try context.buffer(bytes: bytes, label: "bandwidth source")
        let to = try context.buffer(bytes: bytes, label: "bandwidth destination")
        let filler = [Float](repeating: 1, count: bytes / 4)
        _ = try filler.withUnsafeBytes { try queue.write(from, from: $0, blocking: true) }
        _ = try filler.withUnsafeBytes { try queue.write(to, from: $0, blocking: true) }
        var best = 0.0
        let copy = try program.kernel("copy_float4")
        let copyGroup = min(256, try copy.maxWorkGroupSize)
        let copyItems = bytes / 16 / copyGroup * copyGroup
        let copyTime = try Stopwatch.best(runs: max(runs, 3)) {
            try queue.run(copy, [.buffer(from), .buffer(to)], global: [copyItems], local: [copyGroup])
            try queue.finish()
        }
        best = max(best, 2 * Double(copyItems * 16) / copyTime / 1e9)
        for (type, vectorBytes) in [("float4", 16), ("float16", 64)] {
            let kernel = try program.kernel("read_\(type)")
            let group = min(256, try kernel.maxWorkGroupSize)
            let items = bytes / vectorBytes / 16 / group * group
            let time = try Stopwatch.best(runs: max(runs, 3)) {
                try queue.run(kernel, [.buffer(from), .buffer(to), .int32(Int32(items))], global: [items], local: [group])
                try queue.finish()
            }
            best = max(best, Double(items * 16 * vectorBytes + items * 4) / time / 1e9)
        }
        return best
    }

    var measuresTransfer: Bool { true }

    /// Host-to-device transfer: blocking writes of 256 MiB (or half the largest allocation) into
    /// a buffer the driver allocates where it transfers from fastest (pinned memory on GPUs).
    func transferGBs() throws -> Double {
        let bytes = min(256 * 1024 * 1024, device.limits.maxAllocationBytes / 2)
        let buffer = try context.buffer(bytes: bytes, label: "transfer", hostAllocated: true)
        let host = [Float](repeating: 0.5, count: bytes / 4)
        let time = try Stopwatch.best(runs: max(runs, 3)) {
            _ = try host.withUnsafeBytes { try queue.write(buffer, from: $0, blocking: true) }
        }
        return Double(bytes) / time / 1e9
    }

    /// The similarity kernel alone on resident tiles: rows x columns x d, GFLOP/s (2 per
    /// multiply-add). The shape is sized from a first run to take about the probe's time.
    func similarityGFLOPS(dimension: Int) throws -> Double {
        let runner = try SimilarityRunner(resources: resources, configuration: configuration)
        // A small product gives the rate; the measured one is sized from it to the probe's time,
        // each buffer within a quarter of the largest allocation.
        let small = (rows: configuration.tile * 4, columns: configuration.tile * 16)
        let rate = 2 * Double(small.rows * small.columns * dimension)
            / (try runner.time(rows: small.rows, columns: small.columns, dimension: dimension, runs: 0))
        let limit = device.limits.maxAllocationBytes / 4
        var rows = small.rows, columns = small.columns
        while 2 * Double(rows * columns * dimension) < rate * secondsPerProbe / 2 {
            let grown = rows * 4 >= columns ? (rows, columns * 2) : (rows * 2, columns)
            guard grown.1 * roundUp(dimension, to: 16) * 4 <= limit, grown.0 * grown.1 * 4 <= limit else { break }
            (rows, columns) = grown
        }
        let time = try runner.time(rows: rows, columns: columns, dimension: dimension, runs: runs)
        return 2 * Double(rows) * Double(columns) * Double(dimension) / time / 1e9
    }

    /// The top-k merge alone: candidates (similarity entries) offered per second, for k.
    func topkCandidatesPerSecond(k: Int) throws -> Double {
        var rows = 64
        var runner = try TopKRunner(resources: resources, configuration: configuration, k: k, rows: rows)
        var seconds = try Stopwatch.seconds(runner.launch)
        while seconds < secondsPerProbe / 3, rows < 1024 {
            rows *= 2
            seconds *= 2
        }
        runner = try TopKRunner(resources: resources, configuration: configuration, k: k, rows: rows)
        let time = try Stopwatch.best(runs: runs, runner.launch)
        return Double(rows) * Double(runner.keys) / time
    }
}

/// The top-k merge kernel on resident random similarities: `rows` queries offered `keys` keys.
final class TopKRunner {
    let queue: OpenCLQueue
    let kernel: OpenCLKernel
    let rows: Int
    let keys = 4096
    let group: Int
    private let arguments: [OpenCLKernel.Argument]

    init(resources: OpenCLDeviceResources, configuration: KernelConfiguration, k: Int, rows: Int) throws {
        let context = resources.context, queue = resources.compute
        self.queue = queue
        self.rows = rows
        group = configuration.topkGroup
        let perRow = NeighborSearch.candidates(k: k, keys: .max)
        let program = try resources.program(["similarity.cl", "topk.cl"], options: configuration.compilerDefines(candidates: perRow))
        kernel = try program.kernel("topk_merge")
        let keys = self.keys
        func upload<T>(_ values: [T], _ label: String) throws -> OpenCLBuffer {
            let buffer = try context.buffer(bytes: max(1, values.count) * MemoryLayout<T>.stride, label: label)
            _ = try values.withUnsafeBytes { try queue.write(buffer, from: $0, blocking: true) }
            return buffer
        }
        let s = try upload(SeededGenerator.uniformFloats(rows * keys, seed: 5), "scores")
        let keyIds = try upload((0..<Int32(keys)).map { $0 }, "key ids")
        let queryIds = try upload((0..<Int32(rows)).map { -1 - $0 }, "query ids")   // no query is a key: nothing to skip
        let empty = CandidateLists.empty(rows: rows, perRow: perRow)
        let current = (try upload(empty.scores, "candidate scores"), try upload(empty.ids, "candidate ids"))
        let next = (try upload(empty.scores, "next scores"), try upload(empty.ids, "next ids"))
        arguments = [.buffer(s), .int32(Int32(keys)), .int32(1), .int32(Int32(keys)), .int32(0),
                     .buffer(queryIds), .buffer(keyIds), .buffer(current.0), .buffer(current.1), .buffer(next.0), .buffer(next.1)]
    }

    /// One merge of every row's similarities, waited for.
    func launch() throws {
        try queue.run(kernel, arguments, global: [rows * group], local: [group])
        try queue.finish()
    }
}

/// Runs the similarity kernel of one configuration on random resident tiles; `tune` also checks
/// its results against float64.
final class SimilarityRunner {
    let context: OpenCLContext
    let queue: OpenCLQueue
    let configuration: KernelConfiguration
    let kernel: OpenCLKernel

    init(resources: OpenCLDeviceResources, configuration: KernelConfiguration) throws {
        context = resources.context
        queue = resources.compute
        self.configuration = configuration
        let program = try resources.program(["similarity.cl"], options: configuration.compilerDefines(candidates: 1))
        kernel = try program.kernel("similarity_tile")
        let limit = try kernel.maxWorkGroupSize
        guard configuration.similarityGroup <= limit else {
            throw SaegeoError.device("the compiled similarity kernel allows \(limit) work-items per group, fewer than \(configuration.similarityGroup)")
        }
    }

    /// Q and K on the device (padded as the engine pads them) and room for S.
    struct Resident {
        let q: OpenCLBuffer, k: OpenCLBuffer, s: OpenCLBuffer
        let rows: Int, columns: Int, rowsPad: Int, columnsPad: Int, dPad: Int
    }

    func upload(q: [Float], k: [Float], rows: Int, columns: Int, dimension: Int) throws -> Resident {
        let c = configuration
        let rowsPad = roundUp(rows, to: c.tile), columnsPad = roundUp(columns, to: c.tile), dPad = roundUp(dimension, to: c.sliceOfD)
        func padded(_ values: [Float], _ count: Int, _ capacity: Int) -> [Float] {
            var out = [Float](repeating: 0, count: capacity * dPad)
            out.withUnsafeMutableBufferPointer { o in
                values.withUnsafeBufferPointer { v in
                    for r in 0..<count { (o.baseAddress! + r * dPad).update(from: v.baseAddress! + r * dimension, count: dimension) }
                }
            }
            return out
        }
        let qb = try context.buffer(bytes: rowsPad * dPad * 4, label: "Q"), kb = try context.buffer(bytes: columnsPad * dPad * 4, label: "K")
        let sb = try context.buffer(bytes: rowsPad * columnsPad * 4, label: "S")
        _ = try padded(q, rows, rowsPad).withUnsafeBytes { try queue.write(qb, from: $0, blocking: true) }
        _ = try padded(k, columns, columnsPad).withUnsafeBytes { try queue.write(kb, from: $0, blocking: true) }
        return Resident(q: qb, k: kb, s: sb, rows: rows, columns: columns, rowsPad: rowsPad, columnsPad: columnsPad, dPad: dPad)
    }

    /// One launch of the kernel on resident tiles, waited for.
    func launch(_ r: Resident) throws {
        let launch = configuration.similarityLaunch(rows: r.rowsPad, columns: r.columnsPad)
        try queue.run(kernel, [.buffer(r.q), .buffer(r.k), .buffer(r.s), .int32(Int32(r.dPad)), .int32(Int32(r.columnsPad))],
                      global: launch.global, local: launch.local)
        try queue.finish()
    }

    /// S = Q Kᵀ on random rows; S [rows, columns] when asked.
    func run(q: [Float], k: [Float], rows: Int, columns: Int, dimension: Int, runs: Int,
             readBack: Bool = false) throws -> (seconds: Double, s: [Float]) {
        let r = try upload(q: q, k: k, rows: rows, columns: columns, dimension: dimension)
        let seconds = try Stopwatch.best(runs: runs) { try launch(r) }
        guard readBack else { return (seconds, []) }
        var s = [Float](repeating: 0, count: r.rowsPad * r.columnsPad)
        try s.withUnsafeMutableBytes { try queue.read(r.s, into: $0) }
        var valid = [Float](repeating: 0, count: rows * columns)
        for i in 0..<rows { for j in 0..<columns { valid[i * columns + j] = s[i * r.columnsPad + j] } }
        return (seconds, valid)
    }

    func time(rows: Int, columns: Int, dimension: Int, runs: Int) throws -> Double {
        let q = SeededGenerator.uniformFloats(rows * dimension, seed: 9), k = SeededGenerator.uniformFloats(columns * dimension, seed: 10)
        return try run(q: q, k: k, rows: rows, columns: columns, dimension: dimension, runs: runs).seconds
    }
}
