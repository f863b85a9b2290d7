/// What a device can do and what it keeps while doing it, declared by its engine: the planner
/// sizes tiles from these figures, never from the backend's kind.
public struct DeviceCapabilities: Sendable, Equatable {
    public var layout: TileLayout
    /// The engine computes in host memory (the CPU engine): its buffers and the host's staged
    /// tiles count against the same memory, and tiles are read where they lie.
    public var buffersInHostMemory: Bool
    /// Key tiles the host prepares at once for this engine: for a separate device one being
    /// filled, one being copied, one computing; the CPU uses each tile before the next is filled.
    public var stagedKeyTiles: Int
    /// Buffers of running candidates (scores and ids, each one buffer): 2 when they are updated in
    /// place, 4 when a merge reads one copy and writes the other.
    public var candidateBuffers: Int
    /// Device buffers for streamed key tiles, so that a tile's copy overlaps the previous tile's
    /// kernels (0 when the engine reads the host's tiles in place).
    public var streamedTileBuffers: Int
    /// Bytes of one value of the operands a certified low-precision first pass keeps rounded (the
    /// CPU's bfloat16 one: 2 for bits, 4 for the portable product's rounded floats), 0 without one:
    /// the query block or row tile and the key or column tile of neighbours, the chunk and the
    /// encoder tile of score and contrast.
    public var firstPassValueBytes: Int
    /// The engine appends values that beat a row's bar to pending slots beside its candidates
    /// (the CPU's RunningCandidates): `pendingSlots(perRow:)` scores and ids per row, with a count
    /// and a bar per row.
    public var pendsCandidates: Bool
    /// The all-pairs first pass also keeps its column tile packed in its product's own layout (the
    /// CPU's native bfloat16 product, BFloat16Product.packed), about the size of its bfloat16 bits.
    public var packsColumnTiles: Bool

    public init(layout: TileLayout, buffersInHostMemory: Bool, stagedKeyTiles: Int, candidateBuffers: Int,
                streamedTileBuffers: Int, firstPassValueBytes: Int = 0, pendsCandidates: Bool = false,
                packsColumnTiles: Bool = false) {
        self.firstPassValueBytes = firstPassValueBytes
        self.pendsCandidates = pendsCandidates
        self.packsColumnTiles = packsColumnTiles
        self.layout = layout
        self.buffersInHostMemory = buffersInHostMemory
        self.stagedKeyTiles = stagedKeyTiles
        self.candidateBuffers = candidateBuffers
        self.streamedTileBuffers = streamedTileBuffers
    }

    /// Pending slots per row for lists of `perRow`: as many (so each pending buffer is the size of
    /// its list buffer), at least 16 (the AVX-512 offers append up to 16 at once).
    public static func pendingSlots(perRow: Int) -> Int { max(16, perRow) }
}
