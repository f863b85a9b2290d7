/// Encoder tiles on an OpenCL device: the similarity kernel multiplies the chunk of token rows by
/// a tile of encoder rows (pre-activations without bias), and the epilogue's kernels reduce them
/// on the device (EncoderEpilogue): `score_tile` to per-sample sums, `feature_moments` to
/// contrast's per-feature moments (float64 devices); only those sums travel back. TopK reads the pre-activation tile
/// back and selects on the host (its selection spans every tile of a token). Every buffer is kept
/// by name in the device's resources and reused from chunk to chunk and tile to tile.
extension OpenCLEngine {
    /// The chunk and tile the encoder workload is on.
    struct EncoderState {
        var rows = 0
        var rowCapacity = 0
        var rowBuffer: OpenCLBuffer?
        /// The tile's weights, biases, thresholds, proximities and magnitude path on the device.
        var tileBuffers: [OpenCLBuffer] = []
        var rowStarts: [Int] = []
        var tile: EncoderTile?
        var tileCapacity = 0
        var stride = 0
        /// The chunk's d_model and the loaded tile's width: the plan's buffers are sized by them.
        var dimension = 0
        var width = 0
        /// The encoder's kernels, built for one activation (a compile-time constant).
        var kernels: EncoderKernels?
    }

    /// The encoder's kernels for one activation; `featureMoments` where the device has float64.
    struct EncoderKernels {
        let activation: EncoderActivation
        let similarity: OpenCLKernel
        let scoreTile: OpenCLKernel
        let featureTotals: OpenCLKernel
        let featureMoments: OpenCLKernel?
    }

    /// The kernels of the encoder for this activation, made once per engine (a kernel's
    /// arguments are its own: engines never share one).
    private func encoderKernels(_ activation: EncoderActivation) throws -> EncoderKernels {
        if let made = encoder.kernels, made.activation == activation { return made }
        let program = try resources.program(["similarity.cl", "encode.cl"],
                                            options: configuration.compilerDefines(candidates: 1)
                                                + " -DACTIVATION=\(activation == .jumpReLU ? 1 : activation == .gated ? 2 : 0) -DSCORE_GROUP=\(configuration.topkGroup)")
        let made = EncoderKernels(activation: activation, similarity: try program.kernel("similarity_tile"),
                                  scoreTile: try program.kernel("score_tile"), featureTotals: try program.kernel("feature_totals"),
                                  // A compiler that reports cl_khr_fp64 but leaves the kernel out
                                  // falls back to the host's reduction, never to an error.
                                  featureMoments: computesInDouble ? try? program.kernel("feature_moments") : nil)
        encoder.kernels = made
        return made
    }

    /// The buffer `name` of the encoder's plan for the current chunk and tile
    /// (ScorePlanner.encoderBuffers: the planner's list is this list), kept at the plan's size
    /// and allocated through the device's resources object. `holding`: the bytes it must hold.
    private func planned(_ name: String, holding bytes: Int = 0) throws -> OpenCLBuffer {
        let plan = ScorePlanner.encoderBuffers(dimension: encoder.dimension, layout: capabilities.layout, rows: encoder.rows,
                                               samples: max(0, encoder.rowStarts.count - 1), tile: encoder.width,
                                               featureMoments: computesInDouble)
        guard let size = plan.first(where: { $0.name == name })?.bytes else { preconditionFailure("\(name) is not in the encoder's plan") }
        precondition(bytes <= size, "\(name): \(bytes) bytes, more than the plan's \(size)")
        return try buffers.buffer(name, atLeast: size)
    }

    /// Uploads `values` (blocking) into the plan's buffer `name`.
    private func upload<T>(_ values: [T], _ name: String) throws -> OpenCLBuffer {
        let buffer = try planned(name, holding: max(1, values.count) * MemoryLayout<T>.stride)
        try values.withUnsafeBytes { _ = try compute.write(buffer, from: $0, blocking: true) }
        return buffer
    }

    private func download<T: Numeric>(_ buffer: OpenCLBuffer, count: Int, as: T.Type) throws -> [T] {
        var values = [T](repeating: 0, count: count)
        try values.withUnsafeMutableBytes { try compute.read(buffer, into: $0) }
        return values
    }

    public func setActivations(_ chunk: ActivationChunk) throws {
        let stride = roundUp(chunk.dimension, to: configuration.sliceOfD)
        let capacity = roundUp(max(chunk.rows, 1), to: configuration.rowAlignment)
        var padded = [Float](repeating: 0, count: capacity * stride)
        for r in 0..<chunk.rows {
            for i in 0..<chunk.dimension { padded[r * stride + i] = chunk.values[r * chunk.dimension + i] }
        }
        encoder.rows = chunk.rows
        encoder.rowCapacity = capacity
        encoder.rowStarts = chunk.rowStarts
        encoder.stride = stride
        encoder.dimension = chunk.dimension
        // The previous chunk's buffer goes first, so that a larger one never lives beside it.
        encoder.rowBuffer = nil
        encoder.rowBuffer = try upload(padded, "activation rows")
    }

    public func loadEncoderTile(_ tile: EncoderTile) throws {
        let stride = roundUp(tile.weights.dimension, to: configuration.sliceOfD)
        let capacity = roundUp(max(tile.features.count, 1), to: configuration.rowAlignment)
        encoder.width = tile.features.count
        encoder.dimension = tile.weights.dimension
        encoder.tileBuffers = []
        let weights = try upload(tile.featureRows(stride: stride, capacity: capacity), "encoder tile")
        tile.weights.releasePages(ofFeatures: tile.features)
        encoder.tileBuffers = [weights, try upload(Array(tile.bias[tile.features]), "encoder bias"),
                               try upload(Array((tile.thresholds ?? tile.bias)[tile.features]), "thresholds"),
                               try upload(Array(tile.proximity[tile.features]), "proximity"),
                               try upload(Array((tile.magnitude?.scale ?? tile.bias)[tile.features]), "magnitude scale"),
                               try upload(Array((tile.magnitude?.bias ?? tile.bias)[tile.features]), "magnitude bias")]
        encoder.tile = tile
        encoder.tileCapacity = capacity
    }

    /// S = rows . tileᵀ into the kept similarity buffer.
    private func multiply(_ tile: EncoderTile) throws -> OpenCLBuffer {
        let s = try planned("similarity tile", holding: encoder.rowCapacity * encoder.tileCapacity * 4)
        let launch = configuration.similarityLaunch(rows: encoder.rowCapacity, columns: encoder.tileCapacity)
        try compute.run(try encoderKernels(tile.activation).similarity,
                        [.buffer(encoder.rowBuffer!), .buffer(encoder.tileBuffers[0]), .buffer(s),
                         .int32(Int32(encoder.stride)), .int32(Int32(encoder.tileCapacity))],
                        global: launch.global, local: launch.local)
        return s
    }

    /// The tile's pre-activations without bias, [rows, width], read back for the selection.
    private func preActivations(_ tile: EncoderTile) throws -> [Float] {
        let s = try multiply(tile)
        let padded = try download(s, count: encoder.rowCapacity * encoder.tileCapacity, as: Float.self)
        let width = tile.features.count
        var out = [Float](repeating: 0, count: encoder.rows * width)
        for r in 0..<encoder.rows {
            for j in 0..<width { out[r * width + j] = padded[r * encoder.tileCapacity + j] }
        }
        return out
    }

    public func reduceEncoderTile(into sums: inout SampleAccumulators) throws {
        guard let tile = encoder.tile else { preconditionFailure("activations and tile first") }
        if sums.epilogue.selection {
            sums.select(preActivations: try preActivations(tile), features: tile.features, bias: tile.bias)
            return
        }
        let samples = encoder.rowStarts.count - 1, width = tile.features.count, group = configuration.topkGroup
        guard samples > 0 else { return }
        let s = try multiply(tile)
        let starts = try upload(encoder.rowStarts.map { Int32($0) }, "sample starts")
        let kernels = try encoderKernels(tile.activation)
        let epilogue = sums.epilogue
        let numerator = try planned("numerators"), denominator = try planned("denominators")
        let active = try planned("active counts")
        let featureSums = try planned("feature sums"), featureTokens = try planned("feature tokens")
        try compute.run(kernels.scoreTile,
                        [.buffer(s), .int32(Int32(encoder.tileCapacity)), .int32(Int32(width)),
                         .buffer(encoder.tileBuffers[1]), .buffer(encoder.tileBuffers[2]), .buffer(encoder.tileBuffers[3]),
                         .buffer(encoder.tileBuffers[4]), .buffer(encoder.tileBuffers[5]), .buffer(starts),
                         .buffer(numerator), .buffer(denominator), .buffer(active), .buffer(featureSums), .buffer(featureTokens)],
                        global: [samples * group], local: [group])
        // Contrast's moments from score_tile's sums on the device where it has float64; otherwise
        // the host reduces the dense sums (addDeviceSums).
        let momentsOnDevice = epilogue.featureMoments && kernels.featureMoments != nil
        if momentsOnDevice {
            sums.addDeviceMoments(try featureMoments(featureSums, featureTokens, starts: starts, tile: tile, samples: samples,
                                                     kernel: kernels.featureMoments!))
            if !epilogue.scores && epilogue.explain == 0 && !epilogue.sampleFeatures { return }
        }
        let denseSums = epilogue.explain > 0 || epilogue.sampleFeatures || (epilogue.featureMoments && !momentsOnDevice)
        let denseTokens = epilogue.sampleFeatures || (epilogue.featureMoments && !momentsOnDevice)
        let totals = try planned("feature totals")
        try compute.run(kernels.featureTotals, [.buffer(featureSums), .int32(Int32(samples)), .int32(Int32(width)), .buffer(totals)],
                        global: [roundUp(width, to: 64)], local: [])
        sums.addDeviceSums(numerator: try download(numerator, count: samples, as: Float.self),
                           denominator: try download(denominator, count: samples, as: Float.self),
                           active: try download(active, count: samples, as: Int32.self),
                           totals: try download(totals, count: width, as: Float.self),
                           featureSums: denseSums ? try download(featureSums, count: samples * width, as: Float.self) : nil,
                           featureTokens: denseTokens ? try download(featureTokens, count: samples * width, as: Int32.self) : nil,
                           features: tile.features, proximity: tile.proximity, momentsFromSums: !momentsOnDevice)
    }

    /// The tile's per-feature moments over the chunk (encode.cl, feature_moments): six [width]
    /// arrays back instead of the [samples, width] sums and token counts.
    private func featureMoments(_ featureSums: OpenCLBuffer, _ featureTokens: OpenCLBuffer, starts: OpenCLBuffer,
                                tile: EncoderTile, samples: Int, kernel: OpenCLKernel) throws -> FeatureMoments {
        let width = tile.features.count
        let out = try ScorePlanner.momentNames.map { try planned($0) }
        try compute.run(kernel,
                        [.buffer(featureSums), .buffer(featureTokens), .int32(Int32(samples)), .int32(Int32(width)),
                         .buffer(starts)] + out.map { .buffer($0) },
                        global: [roundUp(width, to: 64)], local: [])
        return FeatureMoments(features: tile.features,
                              fires: try download(out[0], count: width, as: Int64.self),
                              tokens: try download(out[1], count: width, as: Int64.self),
                              sumHigh: try download(out[2], count: width, as: Double.self),
                              sumLow: try download(out[3], count: width, as: Double.self),
                              squaresHigh: try download(out[4], count: width, as: Double.self),
                              squaresLow: try download(out[5], count: width, as: Double.self))
    }
}
