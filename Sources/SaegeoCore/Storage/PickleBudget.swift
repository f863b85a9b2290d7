/// The memory a checkpoint's pickles may make saegeo hold, charged as values and flattened names
/// are made, and bounded by the pickle's own size.
///
/// Each opcode is one byte but may make an object of tens of bytes (an empty list is an object,
/// a stack slot and a record for releasing it), and flattening nested dicts repeats every key in
/// every name below it (a memoised 1 MB key nested 30 deep puts 30 MB into each leaf's name):
/// counting opcodes does not bound memory. So every value, container slot, memo entry, string
/// and name is charged its approximate size here, and a pickle that needs more than `floor +
/// perPickleByte` times the bytes of pickle read so far is refused, in one line naming the file,
/// before the memory is taken. A torch.save state dict charges a fraction of that (a few times
/// its size: each tensor's entry takes about 100 bytes of pickle and makes about 1 KB).
final class PickleBudget {
    /// Always allowed, so that a small pickle is never refused for its size.
    static let floor = 32 << 20
    static let perPickleByte = 64

    let path: String
    /// Bytes charged so far.
    private(set) var charged = 0
    /// Pickle bytes of the file's pickles that have ended (the legacy format has five in a row).
    private(set) var pickleBytesRead = 0

    init(path: String) { self.path = path }

    /// A pickle of `count` bytes has been read to its STOP.
    func pickleEnded(count: Int) { pickleBytesRead += count }

    /// Charges `bytes` for a value being made, with `reading` more bytes of the current pickle
    /// read beyond those of the pickles that have ended.
    func charge(_ bytes: Int, reading: Int = 0) throws {
        charged += bytes
        let read = pickleBytesRead + reading
        let limit = Self.floor + Self.perPickleByte * read
        guard charged <= limit else {
            throw SaegeoError.badFile("\(path): the pickle's values and flattened names would take more than \(limit >> 20) MiB of memory, \(Self.perPickleByte) times its \(read) bytes read so far, which no state dict needs; the file is not a plain state dict, refusing it")
        }
    }

    /// What one value takes in a stack slot, a list or a memo entry.
    static let slot = MemoryLayout<PickleValue>.stride
    /// An object's header and allocation overhead (a list, a dict, a string's buffer).
    static let object = 48

    /// What a value that a global's call or a persistent id made takes (REDUCE, BINPERSID).
    static func cost(of value: PickleValue) -> Int {
        switch value {
        case .dict(let dict): object + 8 + 2 * dict.entries.count * slot
        case .tensor(let view): 2 * object + 16 * view.size.count
        case .storage: 2 * object
        default: 0
        }
    }
}
