/// One tensor of a checkpoint, as found in its file: name, dtype, shape, and where its bytes are.
/// Nothing is read or inflated until `mapped()` is called, so inspecting a checkpoint stays cheap.
public struct StoredTensor: Sendable {
    enum Storage: Sendable {
        /// Bytes in place in a mapped file, starting at this offset.
        case mapped(MappedFile, Int)
        /// An .npy member of a zip archive: a stored one has its CRC-32 checked, a deflated one is
        /// inflated to a temporary file, on demand.
        case npzMember(NpzArchive.Member)
    }

    public let name: String
    /// The dtype as the file names it (safetensors style: F32, F16, BF16, I64, ...).
    public let dtype: String
    public let shape: [Int]
    let storage: Storage
    /// Whether a 2-D array is stored column-major (numpy's Fortran order).
    var columnMajor: Bool = false

    init(name: String, dtype: String, shape: [Int], storage: Storage, columnMajor: Bool = false) {
        self.name = name
        self.dtype = dtype
        self.shape = shape
        self.storage = storage
        self.columnMajor = columnMajor
    }

    public var scalarType: ScalarType? { ScalarType(rawValue: dtype) }

    /// The file the tensor comes from (the archive, for an npz member).
    public var sourcePath: String {
        switch storage {
        case .mapped(let file, _): file.path
        case .npzMember(let member): member.archive.path
        }
    }
    public var elementCount: Int { checkedProduct(shape) ?? 0 }

    /// The file holding the bytes, and where they start; checks a stored npz member's CRC-32 or
    /// inflates a deflated one first.
    func mapped() throws -> (MappedFile, Int) {
        switch storage {
        case .mapped(let file, let offset): return (file, offset)
        case .npzMember(let member): return try member.data()
        }
    }

    /// This 2-D tensor as decoder directions. `featureAxis` is the axis that indexes features
    /// (0: one feature per row, as in `W_dec [d_sae, d_model]`; 1: one per column, as in
    /// PyTorch's `decoder.weight [d_model, d_sae]`).
    public func featureMatrix(featureAxis: Int) throws -> FeatureMatrix {
        guard shape.count == 2 else {
            throw SaegeoError.badFile("tensor '\(name)' has shape \(shape); a decoder matrix must be 2-D")
        }
        guard let scalarType else {
            throw SaegeoError.badFile("tensor '\(name)' has dtype \(dtype); decoder weights must be F32, F16 or BF16")
        }
        guard shape[0] > 0, shape[1] > 0 else {
            throw SaegeoError.badFile("tensor '\(name)' has shape \(shape); it needs at least one feature and one dimension")
        }
        let (file, offset) = try mapped()
        // Storage order and feature axis together decide whether features are contiguous rows.
        let rowsAreFeatures = (featureAxis == 0) != columnMajor
        let features = shape[featureAxis], dimension = shape[1 - featureAxis]
        return FeatureMatrix(file: file, byteOffset: offset, features: features, dimension: dimension,
                             scalarType: scalarType, layout: rowsAreFeatures ? .rows : .columns)
    }

    /// Reads a small tensor (a bias, a threshold) as float32 values.
    public func floatValues() throws -> [Float] {
        guard let scalarType else {
            throw SaegeoError.badFile("tensor '\(name)' has dtype \(dtype); expected F32, F16 or BF16")
        }
        let (file, offset) = try mapped()
        var values = [Float](repeating: 0, count: elementCount)
        values.withUnsafeMutableBufferPointer { out in
            scalarType.load(file.bytes.baseAddress! + offset, count: out.count, stride: 1, into: out.baseAddress!)
        }
        return values
    }
}
