/// A pickled state dict flattened to named leaves: nested dicts joined with "." and list or tuple
/// items named by their index, as PyTorch names the parameters of nested modules
/// ("encoder.weight", "layers.0.bias"). Tensors and plain values (int, float, bool, string, None)
/// are kept; other leaves (bytes, a bare storage or dtype) are skipped.
///
/// The walk is bounded for hostile pickles: a container found again on its own path (a list
/// appended into itself) is refused instead of looping, nesting deeper than `maxDepth` is
/// refused before the recursion could exhaust the stack, and the number of visits is capped, so
/// a chain of containers that each hold the next one twice cannot make 2^n leaves. Every name
/// is charged to the pickle's budget before it is built, so names that repeat a long key at every
/// level are refused instead of filling memory.
struct TorchStateDictFlattening {
    static let maxDepth = 100

    private let path: String
    private let budget: PickleBudget
    private var visitsLeft: Int
    private var onPath: Set<ObjectIdentifier> = []
    private var names: Set<String> = []
    private(set) var tensors: [(name: String, view: TorchTensorView)] = []
    private(set) var values: [String: TorchValue] = [:]

    /// Flattens `root`, allowing about as many visits as the pickle had opcodes (each leaf of a
    /// tree took at least one opcode to put there; only containers shared many times need more).
    init(_ root: PickleValue, opcodes: Int, path: String, budget: PickleBudget) throws {
        self.path = path
        self.budget = budget
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
        func child(_ key: String) throws -> String {
            try budget.charge(PickleBudget.object + name.utf8.count + 1 + key.utf8.count)
            return name.isEmpty ? key : name + "." + key
        }
        switch value {
        case .dict(let dict):
            try enter(dict, name: name)
            for (key, item) in dict.entries { try visit(item, name: try child(try keyName(key, in: name)), depth: depth + 1) }
            onPath.remove(ObjectIdentifier(dict))
        case .list(let list), .tuple(let list):
            try enter(list, name: name)
            for (index, item) in list.items.enumerated() { try visit(item, name: try child(String(index)), depth: depth + 1) }
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
        try budget.charge(2 * PickleBudget.object)   // its entries in `names` and in the results
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
