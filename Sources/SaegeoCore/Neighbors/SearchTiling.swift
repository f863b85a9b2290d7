/// How a neighbour search is cut into query blocks and key tiles for one engine.
/// Pure: a function of the problem shape and the engine's layout and limits.
public struct SearchTiling: Sendable, Equatable {
    public let queryBlock: Int
    public let keyTile: Int
    public let stride: Int

    /// The largest buffer a tile may take: the device's largest allocation, and at most
    /// `tileBudgetBytes` so that the host's copies of a tile stay small.
    public static func plan(queries: Int, keys: Int, dimension: Int, candidates: Int,
                            layout: TileLayout, tileBudgetBytes: Int = 128 << 20) throws -> SearchTiling {
        let align = layout.rowAlignment
        let stride = roundUp(dimension, to: layout.dimensionAlignment)
        let cap = min(layout.maxAllocationBytes, tileBudgetBytes)
        let rowBytes = stride * 4
        // The smallest tile: `align` rows of queries, of keys, of similarities and of candidates.
        let smallest = max(align * rowBytes, align * align * 4, align * max(candidates, 1) * 4)
        guard smallest <= cap else {
            throw SaegeoError.device("the smallest tile (\(align) rows of dimension \(dimension), \(candidates) candidates each) needs buffers of \(smallest) bytes, more than the \(cap) bytes one buffer may take here; use a device whose largest allocation is at least \(smallest) bytes")
        }
        func alignedDown(_ n: Int) -> Int { max(align, n / align * align) }
        let keyTile = min(roundUp(max(keys, 1), to: align), alignedDown(min(4096, cap / rowBytes)))
        let queryLimit = min(cap / rowBytes, cap / (keyTile * 4), cap / (max(candidates, 1) * 4))
        let queryBlock = min(roundUp(max(queries, 1), to: align), alignedDown(min(8192, queryLimit)))
        return SearchTiling(queryBlock: queryBlock, keyTile: keyTile, stride: stride)
    }
}
