/// Prepares unit tiles on the host for one engine: rows copied from the (mapped) dictionary,
/// scaled by their float64 norms, padded to the engine's layout, in a few rotating buffers so that
/// an engine may still hold the previous tiles while the next one is filled. The dictionary's
/// pages are dropped after each copy, so a file many times larger than memory stays out of it.
final class TileStager {
    private let dictionary: FeatureMatrix
    private let norms: FeatureNorms
    private let layout: TileLayout
    private var buffers: [[Float]]
    private var turn = 0
    /// Tiles carry `UnitRows.noFeature` instead of their ids: queries of another dictionary than
    /// the keys', whose ids the engines must not mistake for a key's (they exclude a query's own id).
    private let hidesIds: Bool

    init(dictionary: FeatureMatrix, norms: FeatureNorms, layout: TileLayout, buffers: Int, hidesIds: Bool = false) {
        self.dictionary = dictionary
        self.norms = norms
        self.layout = layout
        self.buffers = Array(repeating: [], count: buffers)
        self.hidesIds = hidesIds
    }

    /// The features `ids` as a tile. Contiguous id ranges release exactly their pages.
    func tile(_ ids: ArraySlice<Int32>) -> UnitRows {
        let index = turn % buffers.count
        turn += 1
        let rows = norms.unitRows(ids, of: dictionary, layout: layout, reusing: &buffers[index])
        if let first = ids.first, let last = ids.last, last >= first, Int(last - first) < 2 * ids.count {
            dictionary.releasePages(ofFeatures: Int(first)..<(Int(last) + 1))
        } else {
            dictionary.releaseAllPages()
        }
        // The tile shares its storage with the rotating buffer until the engine lets go of it.
        buffers[index] = rows.values
        guard hidesIds else { return rows }
        return UnitRows(ids: [Int32](repeating: UnitRows.noFeature, count: rows.rows), capacity: rows.capacity,
                        stride: rows.stride, values: rows.values)
    }
}

extension UnitRows {
    /// An id no key has (keys are 0..<features, empty candidate slots -1).
    static let noFeature = Int32.min
}
