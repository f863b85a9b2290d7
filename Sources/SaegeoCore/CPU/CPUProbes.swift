import CMicrokernels
import Foundation

/// The microbenchmarks of the CPU, the counterparts of OpenCLProbes: fp32 peak from chains of
/// fmas on every core (the widest vectors the CPU has), memory bandwidth from a parallel
/// streaming copy, the similarity product (sgemm, as the CPU engine computes it) and the top-k
/// selection (the engine's candidate heaps).
struct CPUProbes: DeviceProbes {
    let secondsPerProbe: Double
    let runs: Int
    var cores: Int { ProcessInfo.processInfo.activeProcessorCount }

    /// The vector instructions the peak probe used.
    var isa: String { String(cString: saegeo_fma_isa()) }

    /// The host's memory is the device's: there is no transfer to measure.
    var measuresTransfer: Bool { false }
    func transferGBs() -> Double { 0 }

    /// The peak and the vector instructions that reached it.
    func peakGFLOPS() -> (gflops: Double, kernel: String) { (peakFMAGFLOPS(), isa) }

    /// Every core runs its chains at once and keeps its own best rate over several rounds; the
    /// peak is their sum. A core that a shared machine delays in one round (one thread starting
    /// late) does not pull the others' figures down with it.
    func peakFMAGFLOPS() -> Double {
        var iterations = 1 << 16
        while Stopwatch.seconds({ var sink: Float = 0; _ = saegeo_fma_peak(iterations, &sink) }) < secondsPerProbe / 4 {
            iterations *= 2
        }
        let best = UnsafeSendablePointer(UnsafeMutablePointer<Double>.allocate(capacity: cores))
        defer { best.pointer.deallocate() }
        let n = iterations, rounds = max(runs, 5)
        DispatchQueue.concurrentPerform(iterations: cores) { core in
            best.pointer[core] = 0
            for _ in 0...rounds {
                var sink: Float = 0, flops = 0.0
                let seconds = Stopwatch.seconds { flops = saegeo_fma_peak(n, &sink) }
                best.pointer[core] = max(best.pointer[core], flops / seconds)
            }
        }
        return (0..<cores).reduce(0) { $0 + best.pointer[$1] } / 1e9
    }

    /// Bytes read plus written per second by a copy of 256 MiB split among the cores.
    func bandwidthGBs() -> Double {
        let count = 64 << 20
        let from = UnsafeMutablePointer<Float>.allocate(capacity: count), to = UnsafeMutablePointer<Float>.allocate(capacity: count)
        defer { from.deallocate(); to.deallocate() }
        from.initialize(repeating: 1, count: count)
        to.initialize(repeating: 0, count: count)
        let source = UnsafeSendablePointer(from), destination = UnsafeSendablePointer(to)
        let cores = self.cores
        let time = Stopwatch.best(runs: max(runs, 3)) {
            DispatchQueue.concurrentPerform(iterations: cores) { core in
                let first = count * core / cores, last = count * (core + 1) / cores
                saegeo_copy_floats(destination.pointer + first, source.pointer + first, last - first)
            }
        }
        return 2 * Double(count * 4) / time / 1e9
    }

    /// sgemm of rows x columns x d on every core, GFLOP/s.
    func similarityGFLOPS(dimension: Int) -> Double {
        // A small product gives the rate; the measured one is sized from it to the probe's time.
        var rows = 256, columns = 1024
        let small = SgemmBenchmark(rows: rows, columns: columns, dimension: dimension)
        let rate = small.flops / Stopwatch.best(runs: 0, small.run)
        while 2 * Double(rows * columns * dimension) < rate * secondsPerProbe / 2, rows * columns < 1 << 26 {
            if rows * 4 >= columns { columns *= 2 } else { rows *= 2 }
        }
        let sgemm = SgemmBenchmark(rows: rows, columns: columns, dimension: dimension)
        return sgemm.flops / Stopwatch.best(runs: runs, sgemm.run) / 1e9
    }

    /// Candidates offered per second to the per-row lists of k + max(16, k/2) (RunningCandidates), on every core.
    func topkCandidatesPerSecond(k: Int) -> Double {
        let perRow = NeighborSearch.candidates(k: k, keys: .max)
        let keys = 4096
        var rows = 64
        let scores = SeededGenerator.uniformFloats(1024 * keys, seed: 5)
        let ids = (0..<Int32(keys)).map { $0 }
        let cores = self.cores
        func run() {
            var lists = RunningCandidates(rows: rows, perRow: perRow)
            let rowsNow = rows
            scores.withUnsafeBufferPointer { s in
                ids.withUnsafeBufferPointer { keyIds in
                    let sBase = UnsafeSendablePointer(UnsafeMutablePointer(mutating: s.baseAddress!))
                    let idBase = UnsafeSendablePointer(UnsafeMutablePointer(mutating: keyIds.baseAddress!))
                    lists.withOffers { offers in
                        DispatchQueue.concurrentPerform(iterations: cores) { core in
                            for row in (rowsNow * core / cores)..<(rowsNow * (core + 1) / cores) {
                                offers.offer(row: row, values: sBase.pointer + row * keys, keyIds: idBase.pointer, count: keys, selfId: -1)
                            }
                        }
                    }
                }
            }
            _ = lists.finish(errorBound: nil)
        }
        var seconds = Stopwatch.seconds(run)
        while seconds < secondsPerProbe / 3, rows < 1024 {
            rows *= 2
            seconds *= 2
        }
        let time = Stopwatch.best(runs: runs, run)
        return Double(rows) * Double(keys) / time
    }
}
