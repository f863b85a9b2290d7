/// The only globals a weights-only PyTorch pickle may name, and what calling each one builds.
///
/// A pickle names a global (GLOBAL / STACK_GLOBAL) and calls it (REDUCE): in Python that imports
/// and runs anything, which is how a malicious .pt runs `os.system`. Here a global outside this
/// list is refused as soon as it is named, and the allowed ones are not run either: each is an
/// enum case whose "call" only checks its arguments and builds data. The list is what torch.save
/// writes for a state dict (torch/_tensor.py `_reduce_ex_internal`, torch/nn/parameter.py
/// `__reduce_ex__`, torch/serialization.py `persistent_id`) and nothing else.
enum TorchGlobal: Equatable {
    /// collections.OrderedDict: a state dict, and a tensor's (empty) backward hooks.
    case orderedDict
    case rebuildTensorV2
    /// Tensors of the dtypes without a legacy storage class (uint16, float8...), on an
    /// UntypedStorage with the dtype as an argument.
    case rebuildTensorV3
    case rebuildParameter
    case rebuildParameterWithState
    /// A storage class, as a persistent id names it (nil: torch.UntypedStorage, in bytes).
    case storageType(TorchDType?)
    /// A dtype (torch.float32...), an argument of `_rebuild_tensor_v3`.
    case dtype(TorchDType)

    static let storageClasses: [String: TorchDType] = [
        "FloatStorage": .f32, "HalfStorage": .f16, "BFloat16Storage": .bf16, "DoubleStorage": .f64,
        "LongStorage": .i64, "IntStorage": .i32, "ShortStorage": .i16, "CharStorage": .i8,
        "ByteStorage": .u8, "BoolStorage": .bool,
    ]
    static let dtypes: [String: TorchDType] = [
        "float64": .f64, "float32": .f32, "float16": .f16, "bfloat16": .bf16, "int64": .i64,
        "int32": .i32, "int16": .i16, "int8": .i8, "uint8": .u8, "bool": .bool, "uint16": .u16,
        "uint32": .u32, "uint64": .u64, "float8_e4m3fn": .f8e4m3, "float8_e5m2": .f8e5m2,
    ]

    /// The global `module.name` if it is on the list.
    static func allowed(module: String, name: String) -> TorchGlobal? {
        switch (module, name) {
        case ("collections", "OrderedDict"): return .orderedDict
        case ("torch._utils", "_rebuild_tensor_v2"): return .rebuildTensorV2
        case ("torch._utils", "_rebuild_tensor_v3"): return .rebuildTensorV3
        case ("torch._utils", "_rebuild_parameter"): return .rebuildParameter
        case ("torch._utils", "_rebuild_parameter_with_state"): return .rebuildParameterWithState
        case ("torch", "UntypedStorage"), ("torch.storage", "UntypedStorage"): return .storageType(nil)
        // torch.cuda.FloatStorage: how older versions named the storage of a CUDA tensor.
        case ("torch", _), ("torch.cuda", _):
            if let dtype = storageClasses[name] { return .storageType(dtype) }
            if module == "torch", let dtype = dtypes[name] { return .dtype(dtype) }
            return nil
        default: return nil
        }
    }

    /// Python 2 module names that Python 3's unpickler maps to these (a few of _compat_pickle's).
    static let python2Modules = [
        "__builtin__": "builtins", "commands": "subprocess", "copy_reg": "copyreg", "exceptions": "builtins",
        "cPickle": "pickle", "urllib2": "urllib.request", "httplib": "http.client",
    ]

    /// The one-line refusal of a global that is not on the list.
    static func refusal(module: String, name: String, path: String) -> SaegeoError {
        // Protocol 2 writes Python 3 modules under their Python 2 names, which Python maps back
        // when it loads (pickle's fix_imports): name what would run.
        var shown = printable(module) + "." + printable(name)
        if let python3 = python2Modules[module] { shown = "\(python3).\(printable(name)) (pickled as \(shown))" }
        return .badFile("\(path): the pickle calls \(shown), which a weights-only state dict never needs; saegeo refuses it (it never runs pickled code)")
    }

    var qualifiedName: String {
        switch self {
        case .orderedDict: "collections.OrderedDict"
        case .rebuildTensorV2: "torch._utils._rebuild_tensor_v2"
        case .rebuildTensorV3: "torch._utils._rebuild_tensor_v3"
        case .rebuildParameter: "torch._utils._rebuild_parameter"
        case .rebuildParameterWithState: "torch._utils._rebuild_parameter_with_state"
        case .storageType(let dtype):
            "torch." + (dtype.flatMap { d in Self.storageClasses.first { $0.value == d }?.key } ?? "UntypedStorage")
        case .dtype(let dtype): "torch." + (Self.dtypes.first { $0.value == dtype }?.key ?? dtype.rawValue)
        }
    }

    /// What REDUCE builds from this global and its arguments: data only, after checking that
    /// the arguments are what torch.save writes.
    func call(_ args: [PickleValue], path: String) throws -> PickleValue {
        func bad(_ why: String) -> SaegeoError {
            .badFile("\(path): the pickle calls \(qualifiedName) with \(why); the file is corrupt or not written by torch.save")
        }
        switch self {
        case .orderedDict:
            // OrderedDict() (items follow by SETITEMS), or OrderedDict([(key, value), ...]).
            let dict = PickleDict(ordered: true)
            if args.isEmpty { return .dict(dict) }
            guard args.count == 1, case .list(let pairs) = args[0] else {
                throw bad("\(args.count) arguments that are not a list of pairs")
            }
            for pair in pairs.items {
                guard let kv = pair.tupleItems, kv.count == 2 else { throw bad("a list item that is not a (key, value) pair") }
                dict.entries.append((kv[0], kv[1]))
            }
            return .dict(dict)
        case .rebuildTensorV2, .rebuildTensorV3:
            // (storage, storage_offset, size, stride, requires_grad, backward_hooks[, dtype][, metadata])
            let v3 = self == .rebuildTensorV3
            guard args.count == (v3 ? 7 : 6) || args.count == (v3 ? 8 : 7) else {
                throw bad("\(args.count) arguments")
            }
            guard case .storage(let storage) = args[0] else { throw bad("\(args[0].kindName) for its storage") }
            let dtype: TorchDType
            if v3 {
                guard case .global(.dtype(let d)) = args[6] else { throw bad("\(args[6].kindName) for its dtype") }
                dtype = d
            } else {
                guard let d = storage.dtype else { throw bad("an UntypedStorage but no dtype") }
                dtype = d
            }
            guard let offset = args[1].intValue, offset >= 0 else { throw bad("\(args[1].kindName) for its storage offset") }
            guard let size = args[2].tupleItems?.compactMap(\.intValue), size.count == args[2].tupleItems?.count,
                  let stride = args[3].tupleItems?.compactMap(\.intValue), stride.count == args[3].tupleItems?.count,
                  size.count == stride.count, size.allSatisfy({ $0 >= 0 }), stride.allSatisfy({ $0 >= 0 }) else {
                throw bad("a size \(args[2].kindName) and a stride \(args[3].kindName) that are not matching tuples of non-negative integers")
            }
            guard case .bool = args[4] else { throw bad("\(args[4].kindName) for requires_grad") }
            return .tensor(TorchTensorView(storage: storage, dtype: dtype, offset: offset, size: size, stride: stride))
        case .rebuildParameter, .rebuildParameterWithState:
            // (data, requires_grad, backward_hooks[, state]): the parameter is its tensor.
            guard args.count == (self == .rebuildParameter ? 3 : 4) else { throw bad("\(args.count) arguments") }
            guard case .tensor = args[0] else { throw bad("\(args[0].kindName) for its tensor") }
            return args[0]
        case .storageType, .dtype:
            throw bad("arguments, which torch.save never writes (it only names it)")
        }
    }

    /// A storage from a persistent id: ('storage', storage class, key, location, element count)
    /// as the zip format writes it, with a sixth item, the view metadata (None), in the legacy
    /// format.
    static func storage(persistentID id: PickleValue, path: String) throws -> PickleValue {
        guard let items = id.tupleItems, items.count == 5 || items.count == 6, items[0].stringValue == "storage",
              case .global(.storageType(let dtype)) = items[1], let key = items[2].stringValue,
              items[3].stringValue != nil, let count = items[4].intValue else {
            throw SaegeoError.badFile("\(path): the pickle's persistent id is \(id.kindName), not ('storage', storage class, key, location, size); the file is corrupt or not a state dict")
        }
        guard count >= 0 else {
            throw SaegeoError.badFile("\(path): storage \(printable(key)) declares a negative size (\(count) elements); the file is corrupt")
        }
        if items.count == 6, case .none = items[5] {} else if items.count == 6 {
            throw SaegeoError.badFile("\(path): storage \(printable(key)) is a view of another storage (written by torch before 1.0); load and re-save the checkpoint with a current torch")
        }
        let reference = TorchStorageReference(key: key, dtype: dtype, count: count)
        guard reference.byteCount != nil else {
            throw SaegeoError.badFile("\(path): storage \(printable(key)) declares \(count) elements, too many to address; the file is corrupt")
        }
        return .storage(reference)
    }
}
