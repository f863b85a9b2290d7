/// One tensor of a checkpoint, as found in its file: name, dtype, shape, and where its bytes are.
/// Nothing is read or inflated until `mapped()` is called, so inspecting a checkpoint stays cheap.
public struct StoredTensor: Sendable {
    enum Storage: Sendable {
        /// Bytes in place in a mapped file, starting at this offset.
        case mapped(MappedFile, Int)
        /// An .npy member of a zip archive: a stored one has its CRC-32 checked, a deflated one is
        /// inflated to a temporary file, on demand.
        case npzMember(NpzArchive.Member)
        /// Bytes in place in a stored zip record (a PyTorch storage), at this offset from the
        /// record's first byte; the record's CRC-32 is checked on first use.
        case zipRecord(NpzArchive.Member, Int)
        /// A strided PyTorch view, copied into a contiguous buffer on first use.
        case gathered(TorchStridedCopy)
    }

    public let name: String
    /// The dtype as the file names it (safetensors style: F32, F16, BF16, I64, ...).
    public let dtype: String
    public let shape: [Int]
    let storage: Storage
    /// Whether a 2-D array is stored column-major (numpy's Fortran order).
    var columnMajor: Bool = false
    /// Why the tensor's bytes cannot be used (a PyTorch view that would copy more elements than
    /// its storage holds), as a complete one-line message; nil for a usable tensor. Listed all the same, so inspecting a
    /// checkpoint shows it; any use of its bytes throws this.
    let unusableReason: String?

    init(name: String, dtype: String, shape: [Int], storage: Storage, columnMajor: Bool = false,
         unusableReason: String? = nil) {
        self.name = name
        self.dtype = dtype
        self.shape = shape
        self.storage = storage
        self.columnMajor = columnMajor
        self.unusableReason = unusableReason
    }

    public var scalarType: ScalarType? { ScalarType(rawValue: dtype) }

    /// The file the tensor comes from (the archive, for an npz member).
    public var sourcePath: String {
        switch storage {
        case .mapped(let file, _): file.path
        case .npzMember(let member), .zipRecord(let member, _): member.archive.path
        case .gathered(let copy): copy.file.path
        }
    }
    public var elementCount: Int { checkedProduct(shape) ?? 0 }

    /// The file holding the bytes, and where they start; checks a stored zip member's CRC-32,
    /// inflates a deflated one or copies a strided view first.
    func mapped() throws -> (MappedFile, Int) {
        if let unusableReason { throw SaegeoError.badFile(unusableReason) }
        switch storage {
        case .mapped(let file, let offset): return (file, offset)
        case .npzMember(let member): return try member.data()
        case .zipRecord(let member, let offset): return (member.archive, try member.verifiedRange().lowerBound + offset)
        case .gathered(let copy): return (try copy.contiguous(), 0)
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

    /// Reads a small tensor (a bias, a threshold) as float32 values, in row-major order (a
    /// column-major 2-D tensor is reordered).
    public func floatValues() throws -> [Float] {
        guard let scalarType else {
            throw SaegeoError.badFile("tensor '\(name)' has dtype \(dtype); expected F32, F16 or BF16")
        }
        let base = try checkedBytes(elementSize: scalarType.byteSize)
        var values = [Float](repeating: 0, count: elementCount)
        values.withUnsafeMutableBufferPointer { out in
            guard let base, let out = out.baseAddress else { return }
            scalarType.load(base, count: elementCount, stride: 1, into: out)
        }
        return rowMajor(values)
    }

    /// Element sizes of the dtypes `numericValues()` reads.
    static let numericSizes: [String: Int] = [
        "F64": 8, "F32": 4, "F16": 2, "BF16": 2, "I64": 8, "I32": 4, "I16": 2, "I8": 1, "U8": 1, "BOOL": 1,
    ]

    /// Reads a small tensor of any float, integer or bool dtype (a `k` buffer, a scalar
    /// threshold) as float64 values in row-major order. Every value of F32/F16/BF16/I32/I16/I8/U8
    /// is exact; I64 values past 2^53 round.
    public func numericValues() throws -> [Double] {
        guard let size = Self.numericSizes[dtype] else {
            throw SaegeoError.badFile("tensor '\(name)' has dtype \(dtype); expected a float, integer or bool dtype")
        }
        let base = try checkedBytes(elementSize: size)
        let count = elementCount
        guard let base else { return [] }
        func load<T>(_ type: T.Type, _ convert: (T) -> Double) -> [Double] {
            (0..<count).map { convert(base.loadUnaligned(fromByteOffset: $0 * size, as: T.self)) }
        }
        let values: [Double]
        switch dtype {
        case "F64": values = load(Double.self) { $0 }
        case "F32": values = load(Float.self) { Double($0) }
        case "F16": values = load(UInt16.self) { Double(Float16(bitPattern: $0)) }
        case "BF16": values = load(UInt16.self) { Double(Float(bitPattern: UInt32($0) << 16)) }
        case "I64": values = load(Int64.self) { Double($0) }
        case "I32": values = load(Int32.self) { Double($0) }
        case "I16": values = load(Int16.self) { Double($0) }
        case "I8": values = load(Int8.self) { Double($0) }
        case "U8": values = load(UInt8.self) { Double($0) }
        default: values = load(UInt8.self) { $0 == 0 ? 0 : 1 }   // BOOL
        }
        return rowMajor(values)
    }

    /// The start of the tensor's bytes (nil when it has none), after `mapped()`'s checks and a
    /// check that they lie inside the file: every reader already ensures it, but a value read
    /// touches every byte, so it is checked here too.
    private func checkedBytes(elementSize: Int) throws -> UnsafeRawPointer? {
        let (file, offset) = try mapped()
        guard let bytes = checkedProduct([elementCount, elementSize]), offset >= 0, offset <= file.size,
              bytes <= file.size - offset else {
            throw SaegeoError.badFile("tensor '\(name)' of shape \(shape) runs past the end of \(file.path); the file is truncated or corrupt")
        }
        guard bytes > 0, let base = file.bytes.baseAddress else { return nil }
        return base + offset
    }

    /// Values read in storage order, put in row-major order.
    private func rowMajor<T>(_ values: [T]) -> [T] {
        guard columnMajor, shape.count == 2, values.count == shape[0] * shape[1] else { return values }
        let rows = shape[0], columns = shape[1]
        return (0..<values.count).map { values[($0 % columns) * rows + $0 / columns] }
    }
}
