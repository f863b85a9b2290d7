/// The decoder directions of an SAE as they lie in a mapped file: one direction per feature,
/// stored as rows (`W_dec [d_sae, d_model]`) or as columns (PyTorch `decoder.weight
/// [d_model, d_sae]`), in any of the supported scalar types. Nothing is copied until asked.
public struct FeatureMatrix: Sendable {
    public enum Layout: String, Sendable { case rows, columns }

    public let features: Int
    public let dimension: Int
    public let scalarType: ScalarType
    public let layout: Layout
    let file: MappedFile
    let byteOffset: Int

    init(file: MappedFile, byteOffset: Int, features: Int, dimension: Int, scalarType: ScalarType, layout: Layout) {
        self.file = file
        self.byteOffset = byteOffset
        self.features = features
        self.dimension = dimension
        self.scalarType = scalarType
        self.layout = layout
    }

    public var byteCount: Int { features * dimension * scalarType.byteSize }
    public var sourcePath: String { file.path }

    /// Writes feature `id`'s direction as `dimension` float32 values to `out`. Rows are read with
    /// pread, so that scattered reads (query tiles, re-scoring) leave nothing of the file resident.
    public func copyFeature(_ id: Int, into out: UnsafeMutablePointer<Float>) {
        let base = file.bytes.baseAddress! + byteOffset
        let rowBytes = dimension * scalarType.byteSize
        switch layout {
        case .rows where scalarType == .f32:
            if file.read(into: out, count: rowBytes, at: byteOffset + id * rowBytes) { return }
            scalarType.load(base + id * rowBytes, count: dimension, stride: 1, into: out)
        case .rows:
            // Read the narrow row into the upper half of `out`, then widen it front to back: the
            // float32 written at i only covers halves j <= i, already read. Raw loads, which may
            // alias anything, keep the compiler from reordering them after the stores.
            let raw = UnsafeMutableRawPointer(out) + 2 * dimension
            if file.read(into: raw, count: rowBytes, at: byteOffset + id * rowBytes) {
                for i in 0..<dimension {
                    let bits = raw.load(fromByteOffset: 2 * i, as: UInt16.self)
                    out[i] = scalarType == .f16 ? Float(Float16(bitPattern: bits)) : Float(bitPattern: UInt32(bits) << 16)
                }
                return
            }
            scalarType.load(base + id * dimension * scalarType.byteSize, count: dimension, stride: 1, into: out)
        case .columns:
            scalarType.load(base + id * scalarType.byteSize, count: dimension, stride: features, into: out)
        }
    }

    /// For a columns layout (PyTorch's [d_model, d_sae]): writes features `range` as float32 in
    /// their stored orientation, `[dimension, range.count]` row-major, one contiguous read per
    /// dimension. Copying a tile this way is a stream; one feature at a time is a stride of the
    /// whole row per value, which costs as much as the product the tile feeds.
    func copyColumns(_ range: Range<Int>, into out: UnsafeMutablePointer<Float>) {
        precondition(layout == .columns)
        let width = range.count, size = scalarType.byteSize
        let base = UnsafeSendablePointer(out), matrix = self
        parallelChunks(dimension) { dimensions in
            for i in dimensions {
                let offset = matrix.byteOffset + (i * matrix.features + range.lowerBound) * size
                let row = base.pointer + i * width
                if matrix.scalarType == .f32, matrix.file.read(into: row, count: width * 4, at: offset) { continue }
                matrix.scalarType.load(matrix.file.bytes.baseAddress! + offset, count: width, stride: 1, into: row)
            }
        }
    }

    /// Feature `id` straight from the mapping when it is stored as a float32 row, else nil (then
    /// copyFeature). The pointer lives as long as this matrix (its file).
    func rowInPlace(_ id: Int) -> UnsafePointer<Float>? {
        guard scalarType == .f32, layout == .rows else { return nil }
        return (file.bytes.baseAddress! + byteOffset + id * dimension * 4).assumingMemoryBound(to: Float.self)
    }

    /// Calls `body` with feature `id` as float32, straight from the mapping when it is stored as
    /// float32 rows (no copy; the pages it touches stay resident until released), else copied.
    @inline(__always)
    func withFeatureInPlace<R>(_ id: Int, scratch: UnsafeMutablePointer<Float>, _ body: (UnsafePointer<Float>) -> R) -> R {
        guard let row = rowInPlace(id) else {
            copyFeature(id, into: scratch)
            return body(scratch)
        }
        return body(row)
    }

    /// The whole matrix as float32 in its stored orientation, straight from the mapping (no copy),
    /// when it is stored as float32 at an aligned address; nil otherwise. The pointer lives as long
    /// as this matrix (its file); pages are read in as they are touched.
    var float32Storage: UnsafePointer<Float>? {
        guard scalarType == .f32, let base = file.bytes.baseAddress else { return nil }
        let address = base + byteOffset
        guard Int(bitPattern: address) % MemoryLayout<Float>.alignment == 0 else { return nil }
        return address.assumingMemoryBound(to: Float.self)
    }

    /// Reads consecutive features straight into `out` (`range.count * dimension` floats) with
    /// pread, when they are stored as float32 rows; false otherwise (then use copyFeature).
    func readFeatures(_ range: Range<Int>, into out: UnsafeMutablePointer<Float>) -> Bool {
        guard scalarType == .f32, layout == .rows else { return false }
        return file.read(into: out, count: range.count * dimension * 4, at: byteOffset + range.lowerBound * dimension * 4)
    }

    /// The stored bytes of features `range` (rows layout only), so that a pass over a large file
    /// can drop them from memory afterwards.
    func byteRange(ofFeatures range: Range<Int>) -> Range<Int> {
        let rowBytes = dimension * scalarType.byteSize
        return (byteOffset + range.lowerBound * rowBytes)..<(byteOffset + range.upperBound * rowBytes)
    }

    /// Lets the kernel drop the mapped pages of these features (rows layout; all pages otherwise,
    /// since every feature of a column layout touches the whole matrix).
    func releasePages(ofFeatures range: Range<Int>) {
        guard layout == .rows else { return releaseAllPages() }
        file.release(byteRange: byteRange(ofFeatures: range))
    }

    /// Drops every mapped page of the matrix; they are read again from the file when touched.
    func releaseAllPages() {
        file.release(byteRange: byteOffset..<(byteOffset + byteCount))
    }
}
