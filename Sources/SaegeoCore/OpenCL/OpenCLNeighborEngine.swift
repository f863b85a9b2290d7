/// The OpenCL engine: per key tile, the similarity kernel writes a tile of S and the top-k kernel
/// merges it into each query's running candidates, which stay on the device until the block ends.
public final class OpenCLNeighborEngine: NeighborEngine {
    public let device: DeviceDescription
    public let layout: TileLayout
    public let configuration: KernelConfiguration
    public var configurationSummary: String { "OpenCL kernels \(configuration)" }

    private let queue: OpenCLQueue
    private let limits: DeviceLimits
    private var program: (candidates: Int, similarity: OpenCLKernel, topk: OpenCLKernel)?
    private var block: QueryBlock?

    /// Device state of one block of queries.
    private struct QueryBlock {
        let rows: Int
        let capacity: Int
        let stride: Int
        let candidates: Int
        let queries: OpenCLBuffer
        let queryIds: OpenCLBuffer
        var current: (scores: OpenCLBuffer, ids: OpenCLBuffer)
        var next: (scores: OpenCLBuffer, ids: OpenCLBuffer)
    }

    private var keyBuffers: (keys: OpenCLBuffer, ids: OpenCLBuffer, similarities: OpenCLBuffer)?

    /// - Parameters:
    ///   - overrides: limits to impose below the device's own (GPU-like limits on PoCL in tests).
    ///   - variant: force a kernel variant; by default GPUs stage tiles in local memory, CPUs do not.
    public init(device: OpenCLDevice, id: String, overrides: LimitOverrides = .init(),
                variant: KernelConfiguration.Variant? = nil) throws {
        limits = device.limits.lowered(to: overrides)
        configuration = try KernelConfiguration.choose(for: limits, kind: device.deviceType, variant: variant)
        queue = try OpenCLQueue(device: device)
        self.device = DeviceDescription(
            id: id, name: device.name, vendor: device.vendor, type: device.deviceType, backend: .opencl,
            globalMemoryBytes: limits.globalMemoryBytes, maxAllocationBytes: limits.maxAllocationBytes,
            computeUnits: device.computeUnits, driverVersion: device.driverVersion)
        layout = TileLayout(rowAlignment: configuration.rowAlignment, dimensionAlignment: configuration.sliceOfD,
                            maxAllocationBytes: limits.maxAllocationBytes)
    }

    /// Builds the kernels for this candidate count (a compile-time constant of the top-k kernel),
    /// once per engine and count. The build log of a failure travels in the error.
    private func kernels(candidates: Int) throws -> (similarity: OpenCLKernel, topk: OpenCLKernel) {
        if let program, program.candidates == candidates { return (program.similarity, program.topk) }
        let source = EmbeddedKernels.sources["similarity.cl"]! + "\n" + EmbeddedKernels.sources["topk.cl"]!
        let built = try queue.program(source: source,
                                      options: "-cl-std=CL1.2 " + configuration.compilerDefines(candidates: candidates))
        let similarity = try built.kernel("similarity_tile")
        let topk = try built.kernel("topk_merge")
        // The compiler may allow fewer work-items than the device (register pressure): honour it.
        let simLimit = try similarity.maxWorkGroupSize, topLimit = try topk.maxWorkGroupSize
        guard configuration.similarityGroup <= simLimit, configuration.topkGroup <= topLimit else {
            throw SaegeoError.device("\(device.id): compiled kernels allow \(simLimit)/\(topLimit) work-items per group, fewer than the \(configuration.similarityGroup)/\(configuration.topkGroup) planned; lower the limit with SAEGEO_OPENCL_MAX_WORK_GROUP=\(min(simLimit, topLimit))")
        }
        program = (candidates, similarity, topk)
        return (similarity, topk)
    }

    public func beginQueries(_ queries: UnitRows, candidates: Int) throws {
        _ = try kernels(candidates: candidates)
        let listBytes = max(1, queries.rows) * candidates * 4
        func list() throws -> (OpenCLBuffer, OpenCLBuffer) {
            (try queue.buffer(bytes: listBytes, label: "candidate scores"),
             try queue.buffer(bytes: listBytes, label: "candidate ids"))
        }
        let current = try list(), next = try list()
        let empty = CandidateLists.empty(rows: queries.rows, perRow: candidates)
        try empty.scores.withUnsafeBytes { try current.0.write($0) }
        try empty.ids.withUnsafeBytes { try current.1.write($0) }
        let queryBuffer = try queue.buffer(bytes: queries.values.count * 4, label: "query tile")
        try queries.values.withUnsafeBytes { try queryBuffer.write($0) }
        let idBuffer = try queue.buffer(bytes: max(1, queries.rows) * 4, label: "query ids")
        try queries.ids.withUnsafeBytes { try idBuffer.write($0) }
        block = QueryBlock(rows: queries.rows, capacity: queries.capacity, stride: queries.stride,
                           candidates: candidates, queries: queryBuffer, queryIds: idBuffer,
                           current: current, next: next)
    }

    public func addKeys(_ keys: UnitRows) throws {
        guard var block, keys.rows > 0, block.rows > 0 else { return }
        let (similarity, topk) = try kernels(candidates: block.candidates)
        let keyBytes = keys.values.count * 4
        let simBytes = block.capacity * keys.capacity * 4
        if keyBuffers == nil || keyBuffers!.keys.bytes < keyBytes || keyBuffers!.similarities.bytes < simBytes
            || keyBuffers!.ids.bytes < keys.rows * 4 {
            keyBuffers = nil  // release before allocating the larger ones
            keyBuffers = (try queue.buffer(bytes: keyBytes, label: "key tile"),
                          try queue.buffer(bytes: keys.capacity * 4, label: "key ids"),
                          try queue.buffer(bytes: simBytes, label: "similarity tile"))
        }
        let buffers = keyBuffers!
        try keys.values.withUnsafeBytes { try buffers.keys.write($0) }
        try keys.ids.withUnsafeBytes { try buffers.ids.write($0) }
        let c = configuration
        try similarity.run([.buffer(block.queries), .buffer(buffers.keys), .buffer(buffers.similarities),
                            .int32(Int32(keys.stride)), .int32(Int32(keys.capacity))],
                           global: [keys.capacity / c.register, block.capacity / c.register],
                           local: [c.tile / c.register, c.tile / c.register])
        try topk.run([.buffer(buffers.similarities), .int32(Int32(keys.capacity)), .int32(Int32(keys.rows)),
                      .buffer(block.queryIds), .buffer(buffers.ids),
                      .buffer(block.current.scores), .buffer(block.current.ids),
                      .buffer(block.next.scores), .buffer(block.next.ids)],
                     global: [block.rows * c.topkGroup], local: [c.topkGroup])
        swap(&block.current, &block.next)
        self.block = block
    }

    public func finishQueries() throws -> CandidateLists {
        guard let block else { return .empty(rows: 0, perRow: 0) }
        var lists = CandidateLists.empty(rows: block.rows, perRow: block.candidates)
        if block.rows > 0 {
            try lists.scores.withUnsafeMutableBytes { try block.current.scores.read(into: $0) }
            try lists.ids.withUnsafeMutableBytes { try block.current.ids.read(into: $0) }
        }
        self.block = nil
        return lists
    }
}
