/// A pickled state dict flattened to named leaves: nested dicts joined with "." and list or tuple
/// items named by their index, as PyTorch names the parameters of nested modules
/// ("encoder.weight", "layers.0.bias"). Tensors and plain values (int, float, bool, string, None)
/// are kept; other leaves (bytes, a bare storage or dtype) are skipped.
///
/// The walk is bounded for hostile pickles: a container found again on its own path (a list
/// appended into itself) is refused instead of looping, nesting deeper than `maxDepth` is
/// refused before the recursion could exhaust the stack, and the number of visits is capped, so
/// a chain of containers that each hold the next one twice cannot make 2^n leaves.
struct TorchStateDictFlattening {
    static let maxDepth = 100

    private let path: String
    private var visitsLeft: Int
    private var onPath: Set<ObjectIdentifier> = []
    private var names: Set<String> = []
    private(set) var tensors: [(name: String, view: TorchTensorView)] = []
    private(set) var values: [String: TorchValue] = [:]

    /// Flattens `root`, allowing about as many visits as the pickle had opcodes (each leaf of a
    /// tree took at least one opcode to put there; only containers shared many times need more).
    init(_ root: PickleValue, opcodes: Int, path: String) throws {
        self.path = path
        visitsLeft = 2 * opcodes + 10_000
        try visit(root, name: "", depth: 0)
    }

    private mutating func visit(_ value: PickleValue, name: String, depth: Int) throws {
        visitsLeft -= 1
        guard visitsLeft >= 0 else {
            throw SaegeoError.badFile("\(path): the pickle's containers hold each other so many times that flattening them would never end; the file is not a plain state dict")
        }
        guard depth <= Self.maxDepth else {
            throw SaegeoError.badFile("\(path): the pickle nests containers more than \(Self.maxDepth) deep (at '\(printable(name))'); the file is not a plain state dict")
        }
        func child(_ key: String) -> String { name.isEmpty ? key : name + "." + key }
        switch value {
        case .dict(let dict):
            try enter(dict, name: name)
            for (key, item) in dict.entries { try visit(item, name: child(try keyName(key, in: name)), depth: depth + 1) }
            onPath.remove(ObjectIdentifier(dict))
        case .list(let list), .tuple(let list):
            try enter(list, name: name)
            for (index, item) in list.items.enumerated() { try visit(item, name: child(String(index)), depth: depth + 1) }
            onPath.remove(ObjectIdentifier(list))
        case .tensor(let view):
            try claim(name)
            tensors.append((name, view))
        case .none: try leaf(.none, name)
        case .bool(let b): try leaf(.bool(b), name)
        case .int(let i): try leaf(.int(i), name)
        case .double(let d): try leaf(.double(d), name)
        case .string(let s): try leaf(.string(s), name)
        case .bigInt, .bytes, .global, .storage: break
        }
    }

    private mutating func enter(_ container: AnyObject, name: String) throws {
        guard onPath.insert(ObjectIdentifier(container)).inserted else {
            throw SaegeoError.badFile("\(path): the pickle has a container that contains itself (at '\(printable(name))'); the file is not a plain state dict")
        }
    }

    private mutating func leaf(_ value: TorchValue, _ name: String) throws {
        try claim(name)
        values[name] = value
    }

    private mutating func claim(_ name: String) throws {
        guard names.insert(name).inserted else {
            throw SaegeoError.badFile("\(path): two entries of the state dict are both named '\(printable(name))' once flattened; rename one and re-save it")
        }
    }

    /// A dict key as the name part Python's str() would give it.
    private func keyName(_ key: PickleValue, in name: String) throws -> String {
        switch key {
        case .string(let s): return s
        case .int(let i): return String(i)
        case .bool(let b): return b ? "True" : "False"
        case .none: return "None"
        default:
            throw SaegeoError.badFile("\(path): a dict key under '\(printable(name))' is \(key.kindName); saegeo reads state dicts keyed by strings or integers")
        }
    }
}

extension TorchTensorView {
    /// This view as a StoredTensor in place in `file`, its storage's bytes found at
    /// `storageBytes` (absolute in the file). The storage must hold what its reference declares
    /// and the view must fit the storage; a contiguous view maps directly, a transposed matrix
    /// maps column-major, and any other stride pattern is listed but unusable.
    func stored(name: String, file: MappedFile, storageBytes: Range<Int>) throws -> StoredTensor {
        let path = file.path
        let label = "\(path): tensor '\(printable(name))'"
        guard let declared = storage.byteCount, declared <= storageBytes.count,
              storageBytes.lowerBound >= 0, storageBytes.upperBound <= file.size else {
            throw SaegeoError.badFile("\(label) uses storage \(printable(storage.key)), which declares \(storage.count) elements of \(storage.elementSize) bytes but the file holds \(storageBytes.count) bytes for it; the file is truncated or corrupt")
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
        let fits = !overflow && elements != nil && (elements == 0 ? offset <= available : last < available)
        guard fits else {
            throw SaegeoError.badFile("\(label) (offset \(offset), size \(size), stride \(stride)) reaches past the \(available) elements of its storage \(printable(storage.key)); the file is corrupt")
        }
        let start = storageBytes.lowerBound + offset * dtype.size
        var contiguous = true, expected = 1
        for (n, s) in zip(size, stride).reversed() {
            if n != 1, s != expected { contiguous = false }
            expected *= n
        }
        let transposed = !contiguous && size.count == 2 && stride == [1, size[0]]
        var reason: String?
        if !contiguous && !transposed {
            reason = "\(label) is a strided view (size \(size), stride \(stride)) that cannot be read in place; save tensor.contiguous() instead"
        }
        return StoredTensor(name: name, dtype: dtype.rawValue, shape: size, storage: .mapped(file, start),
                            columnMajor: transposed, unusableReason: reason)
    }
}
