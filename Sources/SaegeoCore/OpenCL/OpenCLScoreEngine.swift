/// Scoring on an OpenCL device: the similarity kernel multiplies a chunk of token rows by a tile
/// of encoder rows (pre-activations without bias), and `score_tile` reduces them to per-sample
/// sums on the device; only those sums travel back. TopK reads the pre-activation tile back and
/// selects on the host (its selection spans every tile of a token).
public final class OpenCLScoreEngine: @unchecked Sendable {
    public let device: DeviceDescription
    public let configuration: KernelConfiguration
    private let context: OpenCLContext
    private let queue: OpenCLQueue
    private let similarity: OpenCLKernel
    private let scoreTile: OpenCLKernel
    private let featureTotals: OpenCLKernel
    private let group: Int

    private var rows: (count: Int, capacity: Int, buffer: OpenCLBuffer)?
    private var tile: (count: Int, capacity: Int, weights: OpenCLBuffer, bias: OpenCLBuffer,
                       threshold: OpenCLBuffer, proximity: OpenCLBuffer)?
    private var similarities: OpenCLBuffer?
    private var stride = 0

    public struct TileSums {
        public var numerator: [Float]
        public var denominator: [Float]
        public var active: [Int32]
        public var totals: [Float]
        /// [samples, width] per-(sample, feature) activation sums, when asked for.
        public var featureSums: [Float]?
    }

    public init(device: OpenCLDevice, id: String, jumpReLU: Bool, overrides: LimitOverrides = .init(),
                variant: KernelConfiguration.Variant? = nil, tuning: TuningCache? = nil) throws {
        let limits = device.limits.lowered(to: overrides)
        configuration = try (variant == nil ? tuning?.configuration(for: device, limits: limits) : nil)
            ?? KernelConfiguration.choose(for: limits, kind: device.deviceType, variant: variant)
        group = configuration.topkGroup
        context = try OpenCLContext(device: device)
        queue = try context.queue()
        let source = EmbeddedKernels.sources["similarity.cl"]! + "\n" + EmbeddedKernels.sources["encode.cl"]!
        let program = try context.program(source: source, options: "-cl-std=CL1.2 " + configuration.compilerDefines(candidates: 1)
                                          + " -DACTIVATION=\(jumpReLU ? 1 : 0) -DSCORE_GROUP=\(group)")
        similarity = try program.kernel("similarity_tile")
        scoreTile = try program.kernel("score_tile")
        featureTotals = try program.kernel("feature_totals")
        self.device = DeviceDescription(
            id: id, name: device.name, vendor: device.vendor, type: device.deviceType, backend: .opencl,
            globalMemoryBytes: limits.globalMemoryBytes, maxAllocationBytes: limits.maxAllocationBytes,
            computeUnits: device.computeUnits, driverVersion: device.driverVersion)
    }

    /// Pads rows of `dimension` floats to the kernel layout.
    private func padded(_ values: [Float], count: Int, dimension: Int, capacity: Int) -> [Float] {
        var out = [Float](repeating: 0, count: capacity * stride)
        for r in 0..<count {
            for i in 0..<dimension { out[r * stride + i] = values[r * dimension + i] }
        }
        return out
    }

    /// Uploads a chunk of preprocessed token rows [count, dimension].
    public func setRows(_ x: [Float], count: Int, dimension: Int) throws {
        stride = roundUp(dimension, to: configuration.sliceOfD)
        let capacity = roundUp(max(count, 1), to: configuration.rowAlignment)
        let data = padded(x, count: count, dimension: dimension, capacity: capacity)
        if rows == nil || rows!.buffer.bytes < data.count * 4 {
            rows = (count, capacity, try context.buffer(bytes: data.count * 4, label: "activation rows"))
        }
        rows = (count, capacity, rows!.buffer)
        try data.withUnsafeBytes { _ = try queue.write(rows!.buffer, from: $0, blocking: true) }
    }

    /// Uploads a tile of encoder rows [count, dimension] with its bias, thresholds and proximities.
    public func setTile(weights: [Float], count: Int, dimension: Int, bias: ArraySlice<Float>,
                        threshold: ArraySlice<Float>?, proximity: ArraySlice<Float>) throws {
        stride = roundUp(dimension, to: configuration.sliceOfD)
        let capacity = roundUp(max(count, 1), to: configuration.rowAlignment)
        let data = padded(weights, count: count, dimension: dimension, capacity: capacity)
        func upload(_ values: [Float], _ label: String) throws -> OpenCLBuffer {
            let buffer = try context.buffer(bytes: max(1, values.count) * 4, label: label)
            try values.withUnsafeBytes { _ = try queue.write(buffer, from: $0, blocking: true) }
            return buffer
        }
        tile = (count, capacity, try upload(data, "encoder tile"), try upload(Array(bias), "encoder bias"),
                try upload(Array(threshold ?? bias), "thresholds"), try upload(Array(proximity), "proximity"))
    }

    private func multiply() throws -> OpenCLBuffer {
        guard let rows, let tile else { preconditionFailure("rows and tile first") }
        let bytes = rows.capacity * tile.capacity * 4
        if similarities == nil || similarities!.bytes < bytes {
            similarities = nil
            similarities = try context.buffer(bytes: bytes, label: "pre-activation tile")
        }
        let c = configuration
        try queue.run(similarity, [.buffer(rows.buffer), .buffer(tile.weights), .buffer(similarities!),
                                   .int32(Int32(stride)), .int32(Int32(tile.capacity))],
                      global: [tile.capacity / c.register, rows.capacity / c.register],
                      local: [c.tile / c.register, c.tile / c.register])
        return similarities!
    }

    /// The pre-activations without bias, [rows, tile count] (for TopK).
    public func preActivations() throws -> [Float] {
        guard let rows, let tile else { preconditionFailure("rows and tile first") }
        let s = try multiply()
        var padded = [Float](repeating: 0, count: rows.capacity * tile.capacity)
        try padded.withUnsafeMutableBytes { try queue.read(s, into: $0) }
        var out = [Float](repeating: 0, count: rows.count * tile.count)
        for r in 0..<rows.count {
            for j in 0..<tile.count { out[r * tile.count + j] = padded[r * tile.capacity + j] }
        }
        return out
    }

    /// Per-sample sums of this tile; `sampleStarts` are row offsets within the chunk.
    public func reduce(sampleStarts: [Int32], keepFeatureSums: Bool) throws -> TileSums {
        guard let tile else { preconditionFailure("rows and tile first") }
        let samples = sampleStarts.count - 1
        guard samples > 0 else {
            return TileSums(numerator: [], denominator: [], active: [], totals: [Float](repeating: 0, count: tile.count),
                            featureSums: keepFeatureSums ? [] : nil)
        }
        let s = try multiply()
        let starts = try context.buffer(bytes: sampleStarts.count * 4, label: "sample starts")
        try sampleStarts.withUnsafeBytes { _ = try queue.write(starts, from: $0, blocking: true) }
        let numerator = try context.buffer(bytes: max(1, samples) * 4, label: "numerators")
        let denominator = try context.buffer(bytes: max(1, samples) * 4, label: "denominators")
        let active = try context.buffer(bytes: max(1, samples) * 4, label: "active counts")
        let sums = try context.buffer(bytes: max(1, samples * tile.count) * 4, label: "feature sums")
        let totals = try context.buffer(bytes: max(1, tile.count) * 4, label: "feature totals")
        try queue.run(scoreTile, [.buffer(s), .int32(Int32(tile.capacity)), .int32(Int32(tile.count)),
                                  .buffer(tile.bias), .buffer(tile.threshold), .buffer(tile.proximity), .buffer(starts),
                                  .buffer(numerator), .buffer(denominator), .buffer(active), .buffer(sums)],
                      global: [samples * group], local: [group])
        try queue.run(featureTotals, [.buffer(sums), .int32(Int32(samples)), .int32(Int32(tile.count)), .buffer(totals)],
                      global: [roundUp(tile.count, to: 64)], local: [])
        var result = TileSums(numerator: [Float](repeating: 0, count: samples), denominator: [Float](repeating: 0, count: samples),
                              active: [Int32](repeating: 0, count: samples), totals: [Float](repeating: 0, count: tile.count),
                              featureSums: nil)
        try result.numerator.withUnsafeMutableBytes { try queue.read(numerator, into: $0) }
        try result.denominator.withUnsafeMutableBytes { try queue.read(denominator, into: $0) }
        try result.active.withUnsafeMutableBytes { try queue.read(active, into: $0) }
        try result.totals.withUnsafeMutableBytes { try queue.read(totals, into: $0) }
        if keepFeatureSums {
            var values = [Float](repeating: 0, count: samples * tile.count)
            try values.withUnsafeMutableBytes { try queue.read(sums, into: $0) }
            result.featureSums = values
        }
        return result
    }
}
