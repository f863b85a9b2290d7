import Foundation

/// Wall-clock timing for the benchmarks: the best of several runs, after the first (warm-up) one
/// is thrown away. Best, not mean: a peak is what the device can do, and the machines are shared.
enum Stopwatch {
    static func seconds(_ body: () throws -> Void) rethrows -> Double {
        let start = DispatchTime.now().uptimeNanoseconds
        try body()
        return Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
    }

    static func best(runs: Int, _ body: () throws -> Void) rethrows -> Double {
        try body()
        var best = Double.infinity
        for _ in 0..<max(1, runs) { best = min(best, try seconds(body)) }
        return best
    }
}
