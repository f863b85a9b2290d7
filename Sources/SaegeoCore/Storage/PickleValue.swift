/// A value the pickle machine builds: plain data, containers, and the few PyTorch objects a
/// weights-only state dict holds. Nothing here can run code: a value is only ever data.
///
/// Containers are classes because a pickle's memo lets one container appear in several places
/// (itself included: a list appended into itself is a valid pickle). That makes two hazards this
/// file's users guard against: cycles (flattening tracks the containers on its path) and deep
/// chains (a million nested lists would overflow the stack when released recursively, so the
/// machine empties every container it made, one by one, before letting go of them).
enum PickleValue {
    case none
    case bool(Bool)
    case int(Int)
    /// An integer wider than 64 bits, as LONG1/LONG4 store it: little-endian two's complement.
    /// Only the legacy format's magic number is one.
    case bigInt([UInt8])
    case double(Double)
    case string(String)
    /// A bytes object; only its length is kept (no state dict leaf needs the contents).
    case bytes(Int)
    case tuple(PickleList)
    case list(PickleList)
    case dict(PickleDict)
    /// A global from the allow-list (any other global is refused when it is named).
    case global(TorchGlobal)
    /// A storage named by a persistent id: its bytes are in the container, not the pickle.
    /// (Boxed, like the tensor: every stack slot, list item and memo entry is a PickleValue, so
    /// keeping the large payloads out of line makes each of them 24 bytes instead of 72.)
    indirect case storage(TorchStorageReference)
    /// A tensor rebuilt from a storage (a parameter is its tensor).
    indirect case tensor(TorchTensorView)

    /// What the value is, for messages ("a list", "the string 'abc'").
    var kindName: String {
        switch self {
        case .none: "None"
        case .bool(let b): b ? "True" : "False"
        case .int(let i): "the integer \(i)"
        case .bigInt: "an integer wider than 64 bits"
        case .double(let d): "the float \(d)"
        case .string(let s): "the string '\(printable(s, limit: 40))'"
        case .bytes: "a bytes object"
        case .tuple(let t): "a tuple of \(t.items.count)"
        case .list: "a list"
        case .dict: "a dict"
        case .global(let g): g.qualifiedName
        case .storage: "a storage"
        case .tensor: "a tensor"
        }
    }

    var intValue: Int? { if case .int(let i) = self { i } else { nil } }
    var stringValue: String? { if case .string(let s) = self { s } else { nil } }
    var tupleItems: [PickleValue]? { if case .tuple(let t) = self { t.items } else { nil } }
}

/// A list or a tuple (tuples are boxed too, so a deep chain of them is released one by one).
final class PickleList {
    var items: [PickleValue]
    init(_ items: [PickleValue] = []) { self.items = items }
}

/// A dict in insertion order; `ordered` marks a collections.OrderedDict (the only object whose
/// BUILD state a weights-only pickle may set, and that state is ignored).
final class PickleDict {
    var entries: [(key: PickleValue, value: PickleValue)] = []
    let ordered: Bool
    init(ordered: Bool) { self.ordered = ordered }
}

/// The element types a PyTorch storage or tensor can have, named as safetensors names them.
enum TorchDType: String, CaseIterable {
    case f64 = "F64", f32 = "F32", f16 = "F16", bf16 = "BF16"
    case i64 = "I64", i32 = "I32", i16 = "I16", i8 = "I8", u8 = "U8", bool = "BOOL"
    case u16 = "U16", u32 = "U32", u64 = "U64", f8e4m3 = "F8_E4M3", f8e5m2 = "F8_E5M2"

    var size: Int {
        switch self {
        case .f64, .i64, .u64: 8
        case .f32, .i32, .u32: 4
        case .f16, .bf16, .i16, .u16: 2
        case .i8, .u8, .bool, .f8e4m3, .f8e5m2: 1
        }
    }
}

/// A storage as a persistent id names it: its key in the container, its element type (nil for
/// an UntypedStorage, counted in bytes) and its declared element count.
struct TorchStorageReference {
    let key: String
    let dtype: TorchDType?
    let count: Int

    var elementSize: Int { dtype?.size ?? 1 }
    /// The bytes it declares (nil on overflow).
    var byteCount: Int? { checkedProduct([count, elementSize]) }
}

/// A tensor as `_rebuild_tensor_v2/v3` describes it: a view into a storage, in elements of its
/// dtype.
struct TorchTensorView {
    let storage: TorchStorageReference
    let dtype: TorchDType
    let offset: Int
    let size: [Int]
    let stride: [Int]
}

/// Text from a pickle as a message may show it: at most `limit` characters, on one line.
func printable<S: StringProtocol>(_ text: S, limit: Int = 80) -> String {
    let cut = text.count > limit ? String(text.prefix(limit)) + "..." : String(text)
    return String(cut.unicodeScalars.map { $0.properties.generalCategory == .control ? "?" : Character($0) })
}
