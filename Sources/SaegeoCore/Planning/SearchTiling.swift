/// How a neighbour search is cut into query blocks and key tiles for one engine.
/// Pure: a function of the problem shape and the engine's layout and limits.
public struct SearchTiling: Sendable, Equatable {
    /// Queries per block (their device buffer is padded up to the row alignment).
    public let queryBlock: Int
    /// Keys per tile, a multiple of the row alignment.
    public let keyTile: Int
    /// Floats per row on the device: the dimension padded to the layout's alignment.
    public let stride: Int

    /// Every buffer (query tile, key tile, similarity tile, candidate lists) stays within the
    /// device's largest allocation and within `tileBudgetBytes`, which keeps host copies small.
    public static func plan(queries: Int, keys: Int, dimension: Int, candidates: Int,
                            layout: TileLayout, tileBudgetBytes: Int = 128 << 20) throws -> SearchTiling {
        let align = layout.rowAlignment
        let stride = roundUp(dimension, to: layout.dimensionAlignment)
        let cap = min(layout.maxAllocationBytes, tileBudgetBytes)
        let rowBytes = stride * 4
        let listBytes = max(candidates, 1) * 4
        // The smallest plan: one aligned tile of keys, one query padded to an aligned tile.
        let smallest = max(align * rowBytes, align * align * 4, listBytes)
        guard smallest <= cap else {
            throw SaegeoError.device("the smallest tile (\(align) rows of dimension \(dimension), \(candidates) candidates per query) needs buffers of \(smallest) bytes, more than the \(cap) bytes one buffer may take here; use a device whose largest allocation is at least \(smallest) bytes")
        }
        let keyTile = max(align, min(roundUp(max(keys, 1), to: align), min(4096, cap / rowBytes, cap / (align * 4)) / align * align))
        // Largest query count whose padded capacity fits the query and similarity buffers.
        let capacityLimit = min(cap / rowBytes, cap / (keyTile * 4)) / align * align
        let queryBlock = max(1, min(queries, 8192, capacityLimit, cap / listBytes))
        return SearchTiling(queryBlock: queryBlock, keyTile: keyTile, stride: stride)
    }
}
