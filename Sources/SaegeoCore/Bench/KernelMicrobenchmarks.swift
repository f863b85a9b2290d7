import Foundation

/// Prepared single steps of the kernels and the selection, for micro-benchmark harnesses
/// (Benchmarks/Micro, package-benchmark): inputs are generated and placed once, `run()` does one
/// step and waits for it.
public enum KernelMicrobenchmarks {
    /// The OpenCL similarity kernel on resident random tiles, in the engine's configuration for
    /// the device (the tuned one when `tuning` has it).
    public final class Similarity {
        private let runner: SimilarityRunner
        private let resident: SimilarityRunner.Resident
        public let flops: Double
        public var configuration: KernelConfiguration { runner.configuration }

        public init(device index: Int, rows: Int, columns: Int, dimension: Int, tuning: TuningCache? = nil) throws {
            let device = try Self.device(index)
            let resources = try OpenCLDeviceResources.shared(for: device)
            let engine = try OpenCLEngine(resources: resources, tuning: tuning)
            runner = try SimilarityRunner(resources: resources, configuration: engine.configuration)
            resident = try runner.upload(q: Workloads.randomValues(rows * dimension, seed: 1),
                                         k: Workloads.randomValues(columns * dimension, seed: 2),
                                         rows: rows, columns: columns, dimension: dimension)
            flops = 2 * Double(rows) * Double(columns) * Double(dimension)
        }

        public func run() throws { try runner.launch(resident) }

        static func device(_ index: Int) throws -> OpenCLDevice {
            let devices = try DeviceCatalog().openCLDevices
            guard devices.indices.contains(index) else { throw SaegeoError.badInput("there is no opencl:\(index)") }
            return devices[index]
        }
    }

    /// The OpenCL top-k merge of `rows` queries against 4096 keys of random similarities.
    public final class TopKMerge {
        private let runner: TopKRunner
        public var candidates: Int { runner.rows * runner.keys }

        public init(device index: Int, k: Int, rows: Int) throws {
            let device = try Similarity.device(index)
            let resources = try OpenCLDeviceResources.shared(for: device)
            let engine = try OpenCLEngine(resources: resources)
            runner = try TopKRunner(resources: resources, configuration: engine.configuration, k: k, rows: rows)
        }

        public func run() throws { try runner.launch() }
    }

    /// The CPU engine's selection: per-row heaps of k + max(16, k/2) offered `keys` similarities.
    public final class HeapSelection {
        private let scores: [Float]
        private let ids: [Int32]
        private let rows: Int, keys: Int, perRow: Int
        public var candidates: Int { rows * keys }

        public init(k: Int, rows: Int, keys: Int) {
            self.rows = rows
            self.keys = keys
            perRow = NeighborSearch.candidates(k: k, keys: .max)
            scores = Workloads.randomValues(rows * keys, seed: 3)
            ids = (0..<Int32(keys)).map { $0 }
        }

        /// One pass on one core; returns the lowest kept score of the last row (so it is used).
        @discardableResult
        public func run() -> Float {
            var lists = CandidateLists.empty(rows: rows, perRow: perRow)
            let (keys, perRow) = (self.keys, self.perRow)
            scores.withUnsafeBufferPointer { s in
                ids.withUnsafeBufferPointer { keyIds in
                    lists.scores.withUnsafeMutableBufferPointer { ls in
                        lists.ids.withUnsafeMutableBufferPointer { li in
                            for row in 0..<rows {
                                CandidateHeap(scores: ls.baseAddress! + row * perRow, ids: li.baseAddress! + row * perRow, capacity: perRow)
                                    .offer(row: s.baseAddress! + row * keys, keyIds: keyIds.baseAddress!, count: keys, selfId: -1)
                            }
                        }
                    }
                }
            }
            return lists.scores[(rows - 1) * perRow]
        }
    }

    /// OpenBLAS sgemm of the similarity product (the CPU engine's kernel) on every core.
    public final class Sgemm {
        private let q: [Float], k: [Float]
        private var s: [Float]
        private let rows: Int, columns: Int, dimension: Int
        public var flops: Double { 2 * Double(rows) * Double(columns) * Double(dimension) }

        public init(rows: Int, columns: Int, dimension: Int) {
            (self.rows, self.columns, self.dimension) = (rows, columns, dimension)
            q = Workloads.randomValues(rows * dimension, seed: 1)
            k = Workloads.randomValues(columns * dimension, seed: 2)
            s = [Float](repeating: 0, count: rows * columns)
            CBLAS.setThreads(ProcessInfo.processInfo.activeProcessorCount)
        }

        public func run() {
            let (rows, columns, dimension) = (self.rows, self.columns, self.dimension)
            q.withUnsafeBufferPointer { q in
                k.withUnsafeBufferPointer { k in
                    s.withUnsafeMutableBufferPointer { s in
                        CBLAS.multiplyTransposed(m: rows, n: columns, k: dimension, a: q.baseAddress!, lda: dimension,
                                                 b: k.baseAddress!, ldb: dimension, c: s.baseAddress!, ldc: columns)
                    }
                }
            }
        }
    }
}
