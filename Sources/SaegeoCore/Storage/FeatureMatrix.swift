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

    /// Writes feature `id`'s direction as `dimension` float32 values to `out`.
    public func copyFeature(_ id: Int, into out: UnsafeMutablePointer<Float>) {
        let base = file.bytes.baseAddress! + byteOffset
        switch layout {
        case .rows:
            scalarType.load(base + id * dimension * scalarType.byteSize, count: dimension, stride: 1, into: out)
        case .columns:
            scalarType.load(base + id * scalarType.byteSize, count: dimension, stride: features, into: out)
        }
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
