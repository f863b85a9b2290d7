/// A plain value of a PyTorch checkpoint that is not a tensor (a config entry such as OpenAI's
/// `"activation": "TopK"` or `"activation_state_dict.k": 32`).
public enum TorchValue: Sendable, Equatable {
    case int(Int), double(Double), bool(Bool), string(String), none
}

/// A PyTorch checkpoint (.pt/.pth) read without running any of its code.
///
/// torch.save writes a pickle, and unpickling in Python can run anything the file names, which
/// is how a malicious checkpoint takes over a machine. This reader interprets the pickle as data
/// (PickleMachine) with a short allow-list of globals (TorchGlobal): a weights-only state dict
/// needs only OrderedDict, the tensor and parameter rebuild functions, and storage classes.
/// Both container formats are read: the zip archive of torch >= 1.6 and the legacy stream of
/// pickles followed by raw storages (`_use_new_zipfile_serialization=False`). Storages are used
/// in place in the mapped file (a zip record's CRC-32 checked on first use), never copied,
/// except a strided view, which is copied on first use (TorchStridedCopy).
public struct TorchCheckpointFile: Sendable {
    public let file: MappedFile
    /// Every tensor, in the order the state dict lists them, named by its dotted key path.
    public let tensors: [StoredTensor]
    /// Every non-tensor leaf, by its dotted key path.
    public let values: [String: TorchValue]
    private let index: [String: Int]

    public init(path: String) throws {
        try self.init(file: MappedFile(path: path))
    }

    public init(file: MappedFile) throws {
        self.file = file
        let bytes = file.bytes
        let flat: TorchStateDictFlattening
        let storages: [String: TorchStorageBytes]
        if file.size >= 4, bytes[0] == 0x50, bytes[1] == 0x4B, bytes[2] == 0x03, bytes[3] == 0x04 {
            (flat, storages) = try Self.readZip(file)
        } else if file.size >= 2, [0x80, 0x63, 0x28].contains(bytes[0]) {
            // A pickle (PROTO, or a protocol 0/1 GLOBAL or MARK): the legacy format, or a raw
            // pickle named .pt, whose globals are then named when refused.
            let (legacy, ranges) = try TorchLegacyFormat.read(file)
            (flat, storages) = (legacy, ranges.mapValues { TorchStorageBytes(range: $0, record: nil) })
        } else {
            throw SaegeoError.badFile("\(file.path) is not a PyTorch checkpoint: it starts with neither a zip header nor a pickle; save it with torch.save")
        }
        var tensors: [StoredTensor] = []
        tensors.reserveCapacity(flat.tensors.count)
        for (name, view) in flat.tensors {
            guard let bytes = storages[view.storage.key] else {
                throw SaegeoError.badFile("\(file.path): tensor '\(printable(name))' uses storage \(printable(view.storage.key)), which the file does not contain; the file is truncated or corrupt")
            }
            tensors.append(try view.stored(name: name, file: file, storageBytes: bytes))
        }
        self.tensors = tensors
        values = flat.values
        index = Dictionary(tensors.enumerated().map { ($1.name, $0) }, uniquingKeysWith: { first, _ in first })
    }

    public func tensor(_ name: String) -> StoredTensor? { index[name].map { tensors[$0] } }

    static let zipKind = NpzArchive.Kind(
        what: "zip (.pt) archive", saveHint: "save it with torch.save",
        plainOnly: "saegeo reads checkpoints written by torch.save only",
        methodHint: "saegeo reads the uncompressed records torch.save writes; re-save it with torch.save",
        stripsNpySuffix: false)

    /// The zip format: `<top>/data.pkl` is the pickle, `<top>/data/<key>` each storage's bytes
    /// (stored uncompressed, aligned for mapping), `<top>/byteorder` "little" when present. The
    /// top folder's name is whatever the file was first called, so it is found, not assumed.
    private static func readZip(_ file: MappedFile) throws -> (TorchStateDictFlattening, [String: TorchStorageBytes]) {
        let path = file.path
        let archive = try NpzArchive(file: file, kind: zipKind)
        let pickles = archive.members.filter { member in
            let parts = member.name.split(separator: "/", omittingEmptySubsequences: false)
            return parts.count == 2 && parts[1] == "data.pkl" && !parts[0].isEmpty
        }
        guard pickles.count == 1, let pickle = pickles.first else {
            throw SaegeoError.badFile("\(path): the zip archive has \(pickles.count) <folder>/data.pkl records instead of one; it is not a torch.save checkpoint")
        }
        let top = String(pickle.name.dropLast("data.pkl".count))   // "<top>/"
        var storages: [String: TorchStorageBytes] = [:]
        for member in archive.members where member.name.hasPrefix(top) {
            let name = member.name.dropFirst(top.count)
            if name == "byteorder" {
                guard member.method == 0 else {
                    throw SaegeoError.badFile("\(path): the checkpoint's byte order record is compressed; saegeo reads the uncompressed records torch.save writes, re-save it with torch.save")
                }
                let order = String(decoding: file.bytes[try member.verifiedRange()], as: UTF8.self)
                guard order == "little" else {
                    throw SaegeoError.badFile("\(path): the checkpoint's byte order is '\(printable(order))', not little; saegeo reads little-endian checkpoints only")
                }
            } else if name.hasPrefix("data/") {
                guard member.method == 0 else {
                    throw SaegeoError.badFile("\(path): storage record \(printable(member.name)) is compressed; saegeo maps the uncompressed records torch.save writes, re-save it with torch.save")
                }
                // Its CRC-32 is checked when a tensor on it is first used (it may be gigabytes).
                storages[String(name.dropFirst("data/".count))] = TorchStorageBytes(range: member.dataRange, record: member)
            }
        }
        guard pickle.method == 0 else {
            throw SaegeoError.badFile("\(path): \(printable(pickle.name)) is compressed; saegeo reads the uncompressed records torch.save writes, re-save it with torch.save")
        }
        let pickleBytes = try pickle.verifiedRange()
        let budget = PickleBudget(path: path)
        let machine = PickleMachine(bytes: file.bytes, start: pickleBytes.lowerBound, end: pickleBytes.upperBound,
                                    path: path, budget: budget)
        let flat = try machine.load { try TorchStateDictFlattening($0, opcodes: machine.opcodes, path: path, budget: budget) }
        return (flat, storages)
    }
}

/// Where a storage's bytes are in a checkpoint file: a range of it, and the zip record that holds
/// them (nil in the legacy format, which has no checksums), whose CRC-32 is checked before any
/// of its bytes are used.
struct TorchStorageBytes {
    let range: Range<Int>
    let record: NpzArchive.Member?
}
