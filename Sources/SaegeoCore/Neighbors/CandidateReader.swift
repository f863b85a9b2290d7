import Foundation

/// One all-pairs candidate shard, mapped and read a tile at a time (PairShardMerge). Its checksum
/// is checked over the mapped bytes as they stream past, never holding the file in memory; its
/// tensors must be what PairShardSearch writes: distinct tiles in order, their rows of lists, ids
/// of live features or -1.
final class CandidateReader {
    let path: String
    private let file: SafetensorsFile
    private let perRow: Int
    private let idEntry: SafetensorsFile.Entry
    private let scoreEntry: SafetensorsFile.Entry
    /// The first row of each tile the shard holds.
    private var rowOfTile: [Int: Int] = [:]
    private let plan: PairShardPlan
    /// The bound of the shard's scores (TileCandidates.errorBound): nil for float32 lists.
    let errorBound: Double?

    init(shard: ShardMerge.Shard, plan: PairShardPlan, perRow: Int, isLive: (Int) -> Bool) throws {
        path = shard.path
        self.plan = plan
        self.perRow = perRow
        file = try SafetensorsFile(path: shard.path)
        func bad(_ what: String) -> SaegeoError {
            SaegeoError.badInput("\(shard.path): \(what); compute that shard again")
        }
        // The checksum ShardManifest.checksum(of:) computes, over the mapping.
        var sum = Checksum()
        sum.add(shard.manifest.identity)
        for entry in file.entries.sorted(by: { $0.name < $1.name }) {
            sum.add("\(entry.name)|\(entry.dtype)|\(entry.shape)|")
            sum.add(UnsafeRawBufferPointer(rebasing: file.file.bytes[entry.byteRange]))
            file.file.release(byteRange: entry.byteRange)
        }
        guard sum.description == shard.manifest.checksum else {
            throw bad("it fails its checksum (\(sum.description), its manifest says \(shard.manifest.checksum)): it was damaged or edited")
        }
        guard let tiles = file.entry(TileCandidates.tileTensor), let ids = file.entry(TileCandidates.idTensor),
              let scores = file.entry(TileCandidates.scoreTensor), tiles.dtype == "I64", ids.dtype == "I64", scores.dtype == "F32",
              tiles.shape.count == 1 else {
            throw bad("it does not hold the tensors of an all-pairs candidate shard")
        }
        idEntry = ids
        scoreEntry = scores
        if let bound = file.entry(TileCandidates.boundTensor) {
            let value = bound.dtype == "F64" && bound.shape == [1]
                ? file.file.bytes.loadUnaligned(fromByteOffset: bound.byteRange.lowerBound, as: Double.self) : .nan
            guard value.isFinite, value > 0 else { throw bad("its candidates' error bound is not a positive number") }
            errorBound = value
        } else {
            errorBound = nil
        }
        var row = 0, previous = -1
        for index in 0..<tiles.shape[0] {
            let tile = Int(file.file.bytes.loadUnaligned(fromByteOffset: tiles.byteRange.lowerBound + 8 * index, as: Int64.self))
            guard tile > previous, tile < plan.tiles else { throw bad("its tiles are not distinct tiles of the plan in order") }
            rowOfTile[tile] = row
            row += plan.tileRange(tile).count
            previous = tile
        }
        guard ids.shape == [row, perRow], scores.shape == [row, perRow] else {
            throw bad("it holds \(ids.shape) lists, not the \(row) x \(perRow) of its tiles")
        }
        // Every id a live feature's or -1: the ranking divides by the candidate's norm.
        for slot in 0..<(row * perRow) {
            let id = file.file.bytes.loadUnaligned(fromByteOffset: ids.byteRange.lowerBound + 8 * slot, as: Int64.self)
            guard id == -1 || (id >= 0 && id < Int64(Int32.max) && isLive(Int(id))) else {
                throw bad("it names candidate \(id), which is not a live feature")
            }
        }
        releasePages()
    }

    /// The lists of the rows of `tile`, when the shard touched it.
    func lists(ofTile tile: Int) -> (ids: [Int32], scores: [Float])? {
        guard let row = rowOfTile[tile] else { return nil }
        let count = plan.tileRange(tile).count * perRow, base = row * perRow
        let bytes = file.file.bytes
        let ids = (0..<count).map {
            Int32(bytes.loadUnaligned(fromByteOffset: idEntry.byteRange.lowerBound + 8 * (base + $0), as: Int64.self))
        }
        let scores = (0..<count).map {
            bytes.loadUnaligned(fromByteOffset: scoreEntry.byteRange.lowerBound + 4 * (base + $0), as: Float.self)
        }
        return (ids, scores)
    }

    func releasePages() {
        file.file.release(byteRange: 0..<file.file.size)
    }
}
