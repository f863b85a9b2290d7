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
                                  featureMoments: computesInDouble ? try program.kernel("feature_moments") : nil)
        encoder.kernels = made
        return made
    }

    /// Uploads `values` (blocking) into the buffer kept under `name`.
    private func upload<T>(_ values: [T], _ name: String) throws -> OpenCLBuffer {
        let buffer = try buffers.buffer(name, atLeast: max(1, values.count) * MemoryLayout<T>.stride)
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
        encoder.rowBuffer = try upload(padded, "activation rows")
        encoder.rows = chunk.rows
        encoder.rowCapacity = capacity
        encoder.rowStarts = chunk.rowStarts
        encoder.stride = stride
    }

    public func loadEncoderTile(_ tile: EncoderTile) throws {
        let stride = roundUp(tile.weights.dimension, to: configuration.sliceOfD)
        let capacity = roundUp(max(tile.features.count, 1), to: configuration.rowAlignment)
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
        let s = try similarityBuffer(bytes: encoder.rowCapacity * encoder.tileCapacity * 4)
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
        let numerator = try buffers.buffer("numerators", atLeast: samples * 4)
        let denominator = try buffers.buffer("denominators", atLeast: samples * 4)
        let active = try buffers.buffer("active counts", atLeast: samples * 4)
        let featureSums = try buffers.buffer("feature sums", atLeast: max(1, samples * width) * 4)
        let featureTokens = try buffers.buffer("feature tokens", atLeast: max(1, samples * width) * 4)
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
        let totals = try buffers.buffer("feature totals", atLeast: max(1, width) * 4)
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
        let width = tile.features.count, bytes = max(1, width) * 8
        let names = ["moment fires", "moment tokens", "moment sum high", "moment sum low", "moment squares high", "moment squares low"]
        let out = try names.map { try buffers.buffer($0, atLeast: bytes) }
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
