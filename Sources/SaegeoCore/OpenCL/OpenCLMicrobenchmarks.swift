/// The OpenCL similarity kernel on resident random tiles, in the configuration an engine on the
/// device would use (the tuned one when `tuning` has it): one step of KernelMicrobenchmarks.
public final class OpenCLSimilarityBenchmark {
    private let runner: SimilarityRunner
    private let resident: SimilarityRunner.Resident
    public let flops: Double
    public var configuration: KernelConfiguration { runner.configuration }

    public init(device index: Int, rows: Int, columns: Int, dimension: Int, tuning: TuningCache? = nil) throws {
        let backend = try OpenCLBackend(settings: .init(tuning: tuning))
        let device = try Self.device(index, of: backend)
        runner = try SimilarityRunner(resources: try OpenCLDeviceResources.shared(for: device),
                                      configuration: try backend.setup(for: device).kernels)
        resident = try runner.upload(q: SeededGenerator.uniformFloats(rows * dimension, seed: 1),
                                     k: SeededGenerator.uniformFloats(columns * dimension, seed: 2),
                                     rows: rows, columns: columns, dimension: dimension)
        flops = 2 * Double(rows) * Double(columns) * Double(dimension)
    }

    public func run() throws { try runner.launch(resident) }

    static func device(_ index: Int, of backend: OpenCLBackend) throws -> OpenCLDevice {
        let devices = try backend.openCLDevices
        guard devices.indices.contains(index) else { throw SaegeoError.badInput("there is no opencl:\(index)") }
        return devices[index]
    }
}

/// The OpenCL top-k merge of `rows` queries against 4096 keys of random similarities.
public final class OpenCLTopKMergeBenchmark {
    private let runner: TopKRunner
    public var candidates: Int { runner.rows * runner.keys }

    public init(device index: Int, k: Int, rows: Int) throws {
        let backend = try OpenCLBackend()
        let device = try OpenCLSimilarityBenchmark.device(index, of: backend)
        runner = try TopKRunner(resources: try OpenCLDeviceResources.shared(for: device),
                                configuration: try backend.setup(for: device).kernels, k: k, rows: rows)
    }

    public func run() throws { try runner.launch() }
}
