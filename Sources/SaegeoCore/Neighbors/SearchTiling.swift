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
        guard align * rowBytes <= cap, align * align * 4 <= cap, align * max(candidates, 1) * 4 <= cap else {
            throw SaegeoError.device("one tile of \(align) rows of dimension \(dimension) needs \(align * rowBytes) bytes, more than the \(cap) bytes a buffer may take here; use a device with a larger allocation limit")
        }
        func alignedDown(_ n: Int) -> Int { max(align, n / align * align) }
        let keyTile = min(roundUp(max(keys, 1), to: align), alignedDown(min(4096, cap / rowBytes)))
        let queryLimit = min(cap / rowBytes, cap / (keyTile * 4), cap / (max(candidates, 1) * 4))
        let queryBlock = min(roundUp(max(queries, 1), to: align), alignedDown(min(8192, queryLimit)))
        return SearchTiling(queryBlock: queryBlock, keyTile: keyTile, stride: stride)
    }
}
