/// The legacy torch.save format (torch before 1.6, or `_use_new_zipfile_serialization=False`):
/// five pickles in a row (the magic number, the protocol version, sys_info, the object, the
/// sorted list of storage keys), then each storage in that order as a little-endian int64
/// element count followed by its raw bytes (torch/serialization.py `_legacy_save`).
enum TorchLegacyFormat {
    /// 0x1950a86a20f9469cfc6c as LONG1 stores it: little-endian two's complement.
    static let magic: [UInt8] = [0x6C, 0xFC, 0x9C, 0x46, 0xF9, 0x20, 0x6A, 0xA8, 0x50, 0x19]
    static let protocolVersion = 1001

    static func read(_ file: MappedFile) throws -> (TorchStateDictFlattening, [String: Range<Int>]) {
        let path = file.path
        var position = 0
        // One budget for the five pickles, growing with the bytes of them read.
        let budget = PickleBudget(path: path)
        /// Runs the next pickle of the stream and hands its value to `body`.
        func nextPickle<T>(_ body: (PickleValue, PickleMachine) throws -> T) throws -> T {
            let machine = PickleMachine(bytes: file.bytes, start: position, end: file.size, path: path, budget: budget)
            let result = try machine.load { try body($0, machine) }
            position = machine.position
            return result
        }
        try nextPickle { value, _ in
            guard case .bigInt(let bytes) = value, bytes == magic else {
                throw SaegeoError.badFile("\(path): the first pickle is \(value.kindName), not torch.save's magic number; the file is not a PyTorch checkpoint")
            }
        }
        try nextPickle { value, _ in
            guard value.intValue == protocolVersion else {
                throw SaegeoError.badFile("\(path): the legacy checkpoint has protocol version \(value.kindName), not \(protocolVersion); saegeo reads what torch.save writes")
            }
        }
        try nextPickle { value, _ in
            guard case .dict(let info) = value else {
                throw SaegeoError.badFile("\(path): the legacy checkpoint's sys_info is \(value.kindName), not a dict; the file is corrupt")
            }
            for (key, flag) in info.entries where key.stringValue == "little_endian" {
                guard case .bool(true) = flag else {
                    throw SaegeoError.badFile("\(path): the checkpoint was written on a big-endian machine; saegeo reads little-endian checkpoints only")
                }
            }
        }
        let (flat, references) = try nextPickle { value, machine in
            (try TorchStateDictFlattening(value, opcodes: machine.opcodes, path: path, budget: budget), machine.storageReferences)
        }
        let keys: [String] = try nextPickle { value, _ in
            guard case .list(let list) = value, case let keys = list.items.compactMap(\.stringValue),
                  keys.count == list.items.count else {
                throw SaegeoError.badFile("\(path): the legacy checkpoint's storage key list is \(value.kindName), not a list of strings; the file is corrupt")
            }
            return keys
        }

        // Each key's element size, from the persistent ids that name it (torch refuses to save
        // one storage as two dtypes, so they agree).
        var elementSizes: [String: Int] = [:]
        for reference in references {
            if let known = elementSizes[reference.key], known != reference.elementSize {
                throw SaegeoError.badFile("\(path): storage \(printable(reference.key)) is named with elements of \(known) and of \(reference.elementSize) bytes; the file is corrupt")
            }
            elementSizes[reference.key] = reference.elementSize
        }
        let reader = LittleEndianReader(bytes: file.bytes, path: path)
        var storages: [String: Range<Int>] = [:]
        for key in keys {
            guard let elementSize = elementSizes[key] else {
                throw SaegeoError.badFile("\(path): storage \(printable(key)) is listed but no tensor uses it, so its size is unknown; the file is corrupt")
            }
            guard storages[key] == nil else {
                throw SaegeoError.badFile("\(path): storage \(printable(key)) is listed twice; the file is corrupt")
            }
            let count = try reader.u64(position, "the element count of storage \(printable(key))")
            guard let bytes = checkedProduct([count, elementSize]) else {
                throw SaegeoError.badFile("\(path): storage \(printable(key)) declares \(count) elements, too many to address; the file is corrupt")
            }
            let range = try reader.range(position + 8, bytes, "storage \(printable(key)) (\(count) elements of \(elementSize) bytes)")
            storages[key] = range
            position = range.upperBound
        }
        return (flat, storages)
    }
}
