/// The OpenCL engine. Per similarity tile, the similarity kernel writes a tile of S and the top-k
/// kernel merges it into each query's running candidates, which stay on the device until the end.
/// Encoder tiles: OpenCLEngine+Encoder.swift.
///
/// Key tiles stream through two device buffers: a tile's copy runs on the transfer queue while the
/// previous tile's kernels run on the compute queue, ordered by events. The host waits only before
/// reusing a buffer, so it prepares the next tile while the device works.
public final class OpenCLEngine: ComputeEngine {
    public let device: DeviceDescription
    public let capabilities: DeviceCapabilities
    public let configuration: KernelConfiguration
    /// Where the configuration came from, when `saegeo tune` chose it.
    public let tunedFrom: String?
    public var configurationSummary: String {
        "OpenCL kernels \(configuration)" + (tunedFrom.map { " (tuned, from \($0))" } ?? "")
    }

    let resources: OpenCLDeviceResources
    let buffers: OpenCLBufferPool
    private var context: OpenCLContext { resources.context }
    var compute: OpenCLQueue { resources.compute }
    private var transfer: OpenCLQueue { resources.transfer }
    private let limits: DeviceLimits
    /// Whether the encoder's epilogues may compute in float64 (the device's cl_khr_fp64, unless
    /// the overrides say no).
    let computesInDouble: Bool
    private var program: (candidates: Int, similarity: OpenCLKernel, topk: OpenCLKernel, copy: OpenCLKernel)?

    /// Running candidates: `current` is read by the next merge, which writes `next`.
    private struct Candidates {
        let rows: Int
        let perRow: Int
        var current: (scores: OpenCLBuffer, ids: OpenCLBuffer)
        var next: (scores: OpenCLBuffer, ids: OpenCLBuffer)
    }
    private var candidates: Candidates?

    /// The tile whose rows are the queries (queries against keys) or the row tile (all pairs).
    private var rowTile: (offset: Int, rows: Int, capacity: Int, values: OpenCLBuffer, ids: OpenCLBuffer)?

    /// A slot (`streamedTileSlots` of them) for streamed key / column tiles: device buffers, the
    /// event after which the slot is free again, and the host memory of the tile in flight (kept
    /// alive until then).
    private struct Slot {
        var values: OpenCLBuffer?
        var ids: OpenCLBuffer?
        var released: OpenCLEvent?
        var hostValues: [Float] = []
        var hostIds: [Int32] = []
    }
    private var slots = Array(repeating: Slot(), count: OpenCLEngine.streamedTileSlots)
    private var tileCount = 0
    /// The encoder workload's chunk and tile (OpenCLEngine+Encoder.swift).
    var encoder = EncoderState()

    /// - Parameters:
    ///   - overrides: limits to impose below the device's own (GPU-like limits on PoCL in tests).
    ///   - variant: force a kernel variant; by default GPUs stage tiles in local memory, CPUs do not.
    ///   - tuning: the cache of `saegeo tune`; its configuration for this device is used unless a
    ///     variant is forced.
    init(resources: OpenCLDeviceResources, overrides: LimitOverrides = .init(),
         variant: KernelConfiguration.Variant? = nil, tuning: TuningCache? = nil) throws {
        self.resources = resources
        buffers = OpenCLBufferPool(resources)
        // What the backend declares for this device without an engine, from the same settings.
        let setup = try OpenCLEngineSetup(device: resources.device, overrides: overrides, variant: variant, tuning: tuning)
        limits = setup.limits
        configuration = setup.kernels
        tunedFrom = setup.tunedFrom
        device = setup.description
        capabilities = setup.capabilities
        computesInDouble = resources.device.supportsDouble && overrides.doublePrecision != false
    }

    /// Key tile slots streamed through (`slots`): a tile's copy overlaps the previous tile's kernels.
    static let streamedTileSlots = 2
    /// Copies of the running candidates (`Candidates.current` and `.next`), each a scores and an
    /// ids buffer: a merge reads one copy and writes the other.
    static let candidateCopies = 2

    /// Device memory; key tiles staged three at a time (filling, copying, computing) and streamed
    /// through the slots; candidates merged from one copy into the other.
    public static func capabilities(layout: TileLayout) -> DeviceCapabilities {
        DeviceCapabilities(layout: layout, buffersInHostMemory: false, stagedKeyTiles: 3,
                           candidateBuffers: 2 * candidateCopies, streamedTileBuffers: streamedTileSlots)
    }

    /// Builds the kernels for this candidate count (a compile-time constant of the top-k kernel),
    /// once per engine and count. The build log of a failure travels in the error.
    private func kernels(candidates: Int) throws -> (similarity: OpenCLKernel, topk: OpenCLKernel, copy: OpenCLKernel) {
        if let program, program.candidates == candidates { return (program.similarity, program.topk, program.copy) }
        let built = try resources.program(["similarity.cl", "topk.cl"], options: configuration.compilerDefines(candidates: candidates))
        let similarity = try built.kernel("similarity_tile")
        let topk = try built.kernel("topk_merge")
        let copy = try built.kernel("copy_candidates")
        // The compiler may allow fewer work-items than the device (register pressure): honour it.
        let simLimit = try similarity.maxWorkGroupSize, topLimit = try topk.maxWorkGroupSize
        guard configuration.similarityGroup <= simLimit, configuration.topkGroup <= topLimit else {
            throw SaegeoError.device("\(device.id): compiled kernels allow \(simLimit)/\(topLimit) work-items per group, fewer than the \(configuration.similarityGroup)/\(configuration.topkGroup) planned; lower the limit with SAEGEO_OPENCL_MAX_WORK_GROUP=\(min(simLimit, topLimit))")
        }
        program = (candidates, similarity, topk, copy)
        return (similarity, topk, copy)
    }

    /// `initial`: where the lists start (their order within a row does not matter to the merge).
    private func startCandidates(rows: Int, perRow: Int, initial: CandidateLists? = nil) throws {
        _ = try kernels(candidates: perRow)
        let bytes = max(1, rows) * perRow * 4
        // The previous run's lists go first, so that the device never holds both.
        candidates = nil
        func list(_ name: String) throws -> (OpenCLBuffer, OpenCLBuffer) {
            (try resources.buffer(bytes: bytes, label: "\(name) candidate scores"),
             try resources.buffer(bytes: bytes, label: "\(name) candidate ids"))
        }
        let current = try list("current"), next = try list("next")
        let empty = initial ?? CandidateLists.empty(rows: rows, perRow: perRow)
        precondition(empty.rows == rows && empty.perRow == perRow, "the initial lists must hold the run's lists")
        try empty.scores.withUnsafeBytes { _ = try compute.write(current.0, from: $0, blocking: true) }
        try empty.ids.withUnsafeBytes { _ = try compute.write(current.1, from: $0, blocking: true) }
        candidates = Candidates(rows: rows, perRow: perRow, current: current, next: next)
    }

    private func takeCandidates() throws -> CandidateLists {
        try compute.finish()
        guard let candidates else { return .empty(rows: 0, perRow: 0) }
        var lists = CandidateLists.empty(rows: candidates.rows, perRow: candidates.perRow)
        if candidates.rows > 0 {
            try lists.scores.withUnsafeMutableBytes { try compute.read(candidates.current.scores, into: $0) }
            try lists.ids.withUnsafeMutableBytes { try compute.read(candidates.current.ids, into: $0) }
        }
        self.candidates = nil
        rowTile = nil
        slots = Array(repeating: Slot(), count: Self.streamedTileSlots)
        return lists
    }

    /// Uploads the tile of query (or row) vectors, blocking: it is used by every following tile.
    private func setRowTile(_ tile: UnitRows, offset: Int) throws {
        if let rowTile, rowTile.offset == offset, rowTile.rows == tile.rows { return }
        try compute.finish()
        rowTile = nil
        let values = try buffers.buffer("row tile", atLeast: tile.values.count * 4)
        let ids = try buffers.buffer("row ids", atLeast: max(1, tile.rows) * 4)
        try tile.values.withUnsafeBytes { _ = try compute.write(values, from: $0, blocking: true) }
        try tile.ids.withUnsafeBytes { _ = try compute.write(ids, from: $0, blocking: true) }
        rowTile = (offset, tile.rows, tile.capacity, values, ids)
    }

    /// Sends a key (or column) tile to the next free slot without waiting for the device.
    private func stream(_ tile: UnitRows) throws -> (values: OpenCLBuffer, ids: OpenCLBuffer, ready: [OpenCLEvent?], slot: Int) {
        let index = tileCount % Self.streamedTileSlots
        tileCount += 1
        // The slot's previous tile must be done before its buffers and host memory are reused.
        try slots[index].released?.wait()
        var slot = slots[index]
        // A slot grows by freeing its buffer first: the device never holds both.
        if slot.values == nil || slot.values!.bytes < tile.values.count * 4 {
            slot.values = nil
            slots[index].values = nil
            slot.values = try resources.buffer(bytes: tile.values.count * 4, label: "key tile")
        }
        if slot.ids == nil || slot.ids!.bytes < tile.capacity * 4 {
            slot.ids = nil
            slots[index].ids = nil
            slot.ids = try resources.buffer(bytes: tile.capacity * 4, label: "key ids")
        }
        slot.hostValues = tile.values
        slot.hostIds = tile.ids
        let valuesReady = try slot.hostValues.withUnsafeBytes {
            try transfer.write(slot.values!, from: $0, blocking: false)
        }
        let idsReady = try slot.hostIds.withUnsafeBytes { try transfer.write(slot.ids!, from: $0, blocking: false) }
        slots[index] = slot
        return (slot.values!, slot.ids!, [valuesReady, idsReady], index)
    }

    /// The tile of S (also the encoder's pre-activation tile): one buffer, kept and grown.
    func similarityBuffer(bytes: Int) throws -> OpenCLBuffer {
        try buffers.buffer("similarity tile", atLeast: bytes)
    }

    /// S = rows . columnsᵀ for the row tile and a streamed tile; returns the kernel's event.
    private func similarity(_ columns: UnitRows, values: OpenCLBuffer, after ready: [OpenCLEvent?]) throws -> OpenCLBuffer {
        guard let rowTile, let candidates else { preconditionFailure("no row tile") }
        let c = configuration
        let s = try similarityBuffer(bytes: rowTile.capacity * columns.capacity * 4)
        let launch = c.similarityLaunch(rows: rowTile.capacity, columns: columns.capacity)
        try compute.run(try kernels(candidates: candidates.perRow).similarity,
                        [.buffer(rowTile.values), .buffer(values), .buffer(s),
                         .int32(Int32(columns.stride)), .int32(Int32(columns.capacity))],
                        global: launch.global, local: launch.local, after: ready)
        return s
    }

    /// Merges S (rows or columns) into the candidates of `count` queries starting at `offset`.
    /// `swapAll`: all candidates were rewritten, so the buffers trade places; otherwise only this
    /// range was, and it is copied back so `current` stays whole.
    @discardableResult
    private func merge(_ s: OpenCLBuffer, queryStride: Int, keyStride: Int, keys: Int, offset: Int, count: Int,
                       queryIds: OpenCLBuffer, keyIds: OpenCLBuffer, swapAll: Bool) throws -> OpenCLEvent? {
        guard var candidates else { preconditionFailure("no candidates") }
        let c = configuration
        let done = try compute.run(try kernels(candidates: candidates.perRow).topk,
                                   [.buffer(s), .int32(Int32(queryStride)), .int32(Int32(keyStride)), .int32(Int32(keys)),
                                    .int32(Int32(offset)), .buffer(queryIds), .buffer(keyIds),
                                    .buffer(candidates.current.scores), .buffer(candidates.current.ids),
                                    .buffer(candidates.next.scores), .buffer(candidates.next.ids)],
                                   global: [count * c.topkGroup], local: [c.topkGroup])
        if swapAll {
            swap(&candidates.current, &candidates.next)
            self.candidates = candidates
        } else {
            let first = offset * candidates.perRow, slots = count * candidates.perRow
            try compute.run(try kernels(candidates: candidates.perRow).copy,
                            [.buffer(candidates.next.scores), .buffer(candidates.next.ids),
                             .buffer(candidates.current.scores), .buffer(candidates.current.ids),
                             .int32(Int32(first)), .int32(Int32(slots))],
                            global: [roundUp(slots, to: c.topkGroup)], local: [c.topkGroup])
        }
        return done
    }

    // MARK: queries against keys

    public func beginQueries(_ queries: UnitRows, candidates: Int) throws {
        try startCandidates(rows: queries.rows, perRow: candidates)
        try setRowTile(queries, offset: 0)
    }

    public func addKeys(_ keys: UnitRows) throws {
        guard let rowTile, keys.rows > 0, rowTile.rows > 0 else { return }
        let tile = try stream(keys)
        let s = try similarity(keys, values: tile.values, after: tile.ready)
        slots[tile.slot].released = try merge(s, queryStride: keys.capacity, keyStride: 1, keys: keys.rows, offset: 0,
                                              count: rowTile.rows, queryIds: rowTile.ids, keyIds: tile.ids, swapAll: true)
    }

    public func finishQueries() throws -> CandidateLists { try takeCandidates() }

    // MARK: all pairs

    public func beginAllPairs(features: Int, candidates: Int, seed: CandidateLists?) throws {
        try startCandidates(rows: features, perRow: candidates, initial: seed)
    }

    public func addPairTile(rows: UnitRows, rowOffset: Int, columns: UnitRows, columnOffset: Int) throws {
        guard rows.rows > 0, columns.rows > 0 else { return }
        try setRowTile(rows, offset: rowOffset)
        guard let rowTile else { return }
        let tile = try stream(columns)
        let s = try similarity(columns, values: tile.values, after: tile.ready)
        var done = try merge(s, queryStride: columns.capacity, keyStride: 1, keys: columns.rows, offset: rowOffset,
                             count: rows.rows, queryIds: rowTile.ids, keyIds: tile.ids, swapAll: false)
        if rowOffset != columnOffset {
            done = try merge(s, queryStride: 1, keyStride: columns.capacity, keys: rows.rows, offset: columnOffset,
                             count: columns.rows, queryIds: tile.ids, keyIds: rowTile.ids, swapAll: false)
        }
        slots[tile.slot].released = done
    }

    public func finishAllPairs() throws -> CandidateLists { try takeCandidates() }
}
