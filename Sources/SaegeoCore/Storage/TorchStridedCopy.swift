extension TorchTensorView {
    /// This view as a StoredTensor of `file`, its storage's bytes found at `storageBytes`. The
    /// storage must hold what its reference declares and every element of the view must lie
    /// inside it (offset + sum((size_i - 1) * stride_i) < elements, overflow-checked; negative
    /// strides were refused when the view was built). Then, as torch.load reads every such view:
    /// a contiguous view maps in place, a transposed matrix maps column-major, and any other
    /// stride pattern (a bias sliced with a step, a column of a matrix) is copied on first use.
    func stored(name: String, file: MappedFile, storageBytes: TorchStorageBytes) throws -> StoredTensor {
        let path = file.path
        let label = "\(path): tensor '\(printable(name))'"
        let range = storageBytes.range
        guard let declared = storage.byteCount, declared <= range.count, range.lowerBound >= 0, range.upperBound <= file.size else {
            throw SaegeoError.badFile("\(label) uses storage \(printable(storage.key)), which declares \(storage.count) elements of \(storage.elementSize) bytes but the file holds \(range.count) bytes for it; the file is truncated or corrupt")
        }
        // The view's last element, in elements of its dtype from the start of the storage.
        let available = declared / dtype.size
        var last = offset
        var overflow = false
        for (n, s) in zip(size, stride) where n > 0 {
            let (step, o1) = (n - 1).multipliedReportingOverflow(by: s)
            let (sum, o2) = last.addingReportingOverflow(step)
            overflow = overflow || o1 || o2
            last = sum
        }
        let elements = checkedProduct(size)
        let fits = !overflow && elements != nil && stride.allSatisfy { $0 >= 0 } && (elements == 0 ? offset <= available : last < available)
        guard fits, let elements else {
            throw SaegeoError.badFile("\(label) (offset \(offset), size \(size), stride \(stride)) reaches past the \(available) elements of its storage \(printable(storage.key)); the file is corrupt")
        }
        var contiguous = true, expected = 1
        for (n, s) in zip(size, stride).reversed() {
            if n != 1, s != expected { contiguous = false }
            expected *= n
        }
        let transposed = !contiguous && size.count == 2 && stride == [1, size[0]]
        let inPlace: StoredTensor.Storage = storageBytes.record.map { .zipRecord($0, offset * dtype.size) }
            ?? .mapped(file, range.lowerBound + offset * dtype.size)
        if contiguous || transposed {
            return StoredTensor(name: name, dtype: dtype.rawValue, shape: size, storage: inPlace, columnMajor: transposed)
        }
        // A copy is never larger than the storage it comes from, so memory stays bounded by the
        // file; a view that repeats elements beyond that (expand(), stride 0) is listed, unusable.
        var reason: String?
        if elements > available {
            reason = "\(label) (size \(size), stride \(stride)) has more elements than its storage \(printable(storage.key)) holds (\(available)), so it repeats them; save tensor.contiguous() instead"
        }
        let copy = TorchStridedCopy(file: file, storageStart: range.lowerBound, record: storageBytes.record,
                                    elementSize: dtype.size, view: self, label: label)
        return StoredTensor(name: name, dtype: dtype.rawValue, shape: size, storage: .gathered(copy), unusableReason: reason)
    }
}

/// A PyTorch view whose elements are not one run of its storage (`bias[::2]`, `w[:, 3:5]`):
/// torch.load reads it, so saegeo does too, by copying its elements in row-major order into a
/// contiguous buffer, once, when the tensor is first used (inspecting stays free). The view's
/// bounds were checked against its storage before this was made.
final class TorchStridedCopy: Sendable {
    let file: MappedFile
    private let storageStart: Int
    private let record: NpzArchive.Member?
    private let elementSize: Int
    private let offset: Int
    private let size: [Int]
    private let stride: [Int]
    private let label: String
    private let copy = Locked<MappedFile?>(nil)

    init(file: MappedFile, storageStart: Int, record: NpzArchive.Member?, elementSize: Int, view: TorchTensorView, label: String) {
        self.file = file
        self.storageStart = storageStart
        self.record = record
        self.elementSize = elementSize
        offset = view.offset
        size = view.size
        stride = view.stride
        self.label = label
    }

    /// The copy (made on the first call; a zip record's CRC-32 is checked first).
    func contiguous() throws -> MappedFile {
        try copy.withLock { copy in
            if let copy { return copy }
            if let record { _ = try record.verifiedRange() }
            let count = size.reduce(1, *)
            let out = UnsafeMutableRawBufferPointer.allocate(byteCount: max(1, count * elementSize), alignment: 64)
            defer { out.deallocate() }
            if count > 0, let source = file.bytes.baseAddress.map({ $0 + storageStart }), let target = out.baseAddress {
                // An odometer over the view's indices; `position` (in elements) follows it. The
                // arithmetic wraps on purpose: a size-1 axis may have any stride, and stepping
                // past it and back is exact modulo 2^64, while every element read was checked.
                var index = [Int](repeating: 0, count: size.count)
                var position = offset
                for i in 0..<count {
                    (target + i * elementSize).copyMemory(from: source + position * elementSize, byteCount: elementSize)
                    var axis = size.count - 1
                    while axis >= 0 {
                        index[axis] += 1
                        position = position &+ stride[axis]
                        if index[axis] < size[axis] { break }
                        position = position &- stride[axis] &* size[axis]
                        index[axis] = 0
                        axis -= 1
                    }
                }
            }
            let made = MappedFile(copying: UnsafeRawBufferPointer(start: out.baseAddress, count: count * elementSize),
                                  path: "\(file.path) (a copy of \(label.dropFirst(file.path.count + 2)))")
            copy = made
            return made
        }
    }
}
