/// A pickle interpreter that builds data and never runs anything: the opcodes of protocols 2 to
/// 5 that torch.save writes for a state dict, with globals limited to TorchGlobal's allow-list
/// and persistent ids read as storages. Every opcode that creates arbitrary objects (INST, OBJ,
/// NEWOBJ, EXT*) and every global outside the list is refused by name.
///
/// Untrusted input is bounded everywhere: each read is checked against the end of the pickle
/// before it happens (a BINUNICODE8 length past the end is refused, not allocated), the stack
/// cannot be popped below the current MARK (as Python's metastack does), and opcodes, MARK depth
/// and memo entries have limits, and every value made is charged to a PickleBudget, so memory
/// stays within a small multiple of the pickle's size. The machine is a class so that `finish`
/// can empty every container it made before they are released (see PickleValue on cycles and
/// deep chains).
final class PickleMachine {
    static let maxOpcodes = 1 << 26
    static let maxMarks = 10_000
    static let maxMemo = 1 << 22

    private let bytes: UnsafeRawBufferPointer   // the whole file
    private let start: Int
    private let end: Int
    private let budget: PickleBudget
    /// The most values the stack has held (each new slot is charged once).
    private var stackHighWater = 0
    private(set) var position: Int
    private let path: String
    private var stack: [PickleValue] = []
    private var marks: [Int] = []
    private var memo: [Int: PickleValue] = [:]
    private var containers: [AnyObject] = []
    /// Every storage a persistent id named, in order (the legacy format needs their sizes).
    private(set) var storageReferences: [TorchStorageReference] = []
    /// Opcodes run so far.
    private(set) var opcodes = 0

    /// A pickle that starts at `start` in `bytes` and may run up to `end`.
    init(bytes: UnsafeRawBufferPointer, start: Int, end: Int, path: String, budget: PickleBudget) {
        self.bytes = bytes
        self.start = start
        self.budget = budget
        self.position = start
        self.end = min(end, bytes.count)
        self.path = path
    }

    /// Runs the pickle to its STOP and hands its value to `body`, then empties every container
    /// it made (so cycles are broken and deep chains released one link at a time), whether
    /// `body` succeeded or not. `position` is then just past the STOP.
    func load<T>(_ body: (PickleValue) throws -> T) throws -> T {
        defer { finish() }
        let value = try run()
        budget.pickleEnded(count: position - start)
        return try body(value)
    }

    /// Charges the budget for a value being made.
    private func charge(_ bytes: Int) throws {
        try budget.charge(bytes, reading: position - start)
    }

    private func finish() {
        stack.removeAll()
        memo.removeAll()
        for container in containers {
            if let list = container as? PickleList { list.items.removeAll() }
            if let dict = container as? PickleDict { dict.entries.removeAll() }
        }
        containers.removeAll()
    }

    private func fail(_ why: String, at offset: Int? = nil) -> SaegeoError {
        .badFile("\(path): the pickle at byte \(offset ?? position) \(why); the file is truncated, corrupt or not written by torch.save")
    }

    // MARK: Reading

    private func take(_ count: Int, _ what: String) throws -> Range<Int> {
        guard count >= 0, count <= end - position else {
            throw fail("declares \(what) of \(count) bytes, past the end of the pickle (\(max(0, end - position)) bytes left)")
        }
        defer { position += count }
        return position..<(position + count)
    }

    private func unsigned(_ count: Int, _ what: String) throws -> UInt64 {
        let r = try take(count, what)
        return r.reversed().reduce(UInt64(0)) { $0 << 8 | UInt64(bytes[$1]) }
    }

    private func length(_ count: Int, _ what: String) throws -> Int {
        let value = try unsigned(count, "the length of \(what)")
        guard value <= UInt64(end - position) else {
            throw fail("declares \(what) of \(value) bytes, past the end of the pickle (\(end - position) bytes left)")
        }
        return Int(value)
    }

    /// A string's bytes, charged once they are read (so a long string counts its own length).
    private func text(_ count: Int, _ what: String) throws -> String {
        let range = try take(count, what)
        try charge(PickleBudget.object + count)
        return String(decoding: bytes[range], as: UTF8.self)
    }

    /// A line of GLOBAL's text form (module or name), at most 256 bytes.
    private func line() throws -> String {
        let start = position
        while position < end, position - start <= 256, bytes[position] != 0x0A { position += 1 }
        guard position < end, bytes[position] == 0x0A else { throw fail("has a GLOBAL name that is not a line of at most 256 bytes", at: start) }
        position += 1
        return String(decoding: bytes[start..<(position - 1)], as: UTF8.self)
    }

    /// An integer from LONG1/LONG4: little-endian two's complement.
    private func long(_ count: Int) throws -> PickleValue {
        let r = try take(count, "an integer")
        guard count > 0 else { return .int(0) }
        guard count <= 8 else { try charge(PickleBudget.object + count); return .bigInt(Array(bytes[r])) }
        var value = r.reversed().reduce(UInt64(0)) { $0 << 8 | UInt64(bytes[$1]) }
        if count < 8, bytes[r.upperBound - 1] & 0x80 != 0 { value |= ~UInt64(0) << (8 * UInt64(count)) }
        return .int(Int(Int64(bitPattern: value)))
    }

    // MARK: The stack

    private func push(_ value: PickleValue) throws {
        stack.append(value)
        if stack.count > stackHighWater { stackHighWater = stack.count; try charge(PickleBudget.slot) }
    }

    /// Pops one value, never below the current MARK.
    private func pop() throws -> PickleValue {
        guard stack.count > (marks.last ?? 0) else { throw fail("pops an empty stack") }
        return stack.removeLast()
    }

    private func top() throws -> PickleValue {
        guard stack.count > (marks.last ?? 0) else { throw fail("uses the top of an empty stack") }
        return stack[stack.count - 1]
    }

    /// The values above the last MARK, removing them and the mark.
    private func popMark() throws -> [PickleValue] {
        guard let mark = marks.popLast() else { throw fail("ends a MARK that was never set") }
        defer { stack.removeSubrange(mark...) }
        return Array(stack[mark...])
    }

    private func newList(_ items: [PickleValue] = []) throws -> PickleList {
        try charge(PickleBudget.object + 8 + items.count * PickleBudget.slot)
        let list = PickleList(items)
        containers.append(list)
        return list
    }

    private func remember(_ index: Int) throws {
        guard memo.count < Self.maxMemo || memo[index] != nil else { throw fail("stores more than \(Self.maxMemo) memo entries") }
        if memo[index] == nil { try charge(3 * PickleBudget.slot) }
        memo[index] = try top()
    }

    private func recall(_ index: Int) throws {
        guard let value = memo[index] else { throw fail("refers to memo entry \(index), which was never stored") }
        try push(value)
    }

    private func global(module: String, name: String) throws -> PickleValue {
        guard let global = TorchGlobal.allowed(module: module, name: name) else {
            throw TorchGlobal.refusal(module: module, name: name, path: path)
        }
        return .global(global)
    }

    // MARK: Opcodes

    /// Interprets opcodes until STOP and returns the pickle's value.
    private func run() throws -> PickleValue {
        while true {
            opcodes += 1
            guard opcodes <= Self.maxOpcodes else { throw fail("runs more than \(Self.maxOpcodes) opcodes") }
            let at = position
            guard position < end else { throw fail("ends without a STOP opcode") }
            let opcode = bytes[position]
            position += 1
            switch opcode {
            case 0x80:  // PROTO
                let version = try unsigned(1, "the protocol")
                guard version <= 5 else { throw fail("uses pickle protocol \(version); saegeo reads protocols 2 to 5", at: at) }
            case 0x95: _ = try length(8, "a frame")  // FRAME: a read-ahead hint, nothing to do
            case 0x2E:  // STOP
                let value = try pop()
                return value
            case 0x28:  // MARK
                guard marks.count < Self.maxMarks else { throw fail("nests more than \(Self.maxMarks) MARKs", at: at) }
                marks.append(stack.count)
            case 0x30: _ = try pop()                                  // POP
            case 0x31: _ = try popMark()                              // POP_MARK
            case 0x32: try push(try top())                                // DUP
            case 0x4E: try push(.none)                                    // NONE
            case 0x88: try push(.bool(true))                              // NEWTRUE
            case 0x89: try push(.bool(false))                             // NEWFALSE
            case 0x4B: try push(.int(Int(try unsigned(1, "BININT1"))))    // BININT1
            case 0x4D: try push(.int(Int(try unsigned(2, "BININT2"))))    // BININT2
            case 0x4A: try push(.int(Int(Int32(truncatingIfNeeded: try unsigned(4, "BININT")))))  // BININT
            case 0x8A: try push(try long(Int(try unsigned(1, "LONG1"))))  // LONG1
            case 0x8B: try push(try long(try length(4, "LONG4")))         // LONG4
            case 0x47: try push(.double(Double(bitPattern: try bigEndianDouble())))  // BINFLOAT
            case 0x58: try push(.string(try text(try length(4, "a BINUNICODE string"), "a string")))
            case 0x8C: try push(.string(try text(try length(1, "a SHORT_BINUNICODE string"), "a string")))
            case 0x8D: try push(.string(try text(try length(8, "a BINUNICODE8 string"), "a string")))
            case 0x55: try push(.string(try text(try length(1, "a SHORT_BINSTRING"), "a string")))
            case 0x54: try push(.string(try text(try length(4, "a BINSTRING"), "a string")))
            case 0x43: try push(.bytes(try take(try length(1, "SHORT_BINBYTES"), "bytes").count))
            case 0x42: try push(.bytes(try take(try length(4, "BINBYTES"), "bytes").count))
            case 0x8E: try push(.bytes(try take(try length(8, "BINBYTES8"), "bytes").count))
            case 0x29: try push(.tuple(try newList()))                        // EMPTY_TUPLE
            case 0x85: try push(.tuple(try newList([try pop()])))             // TUPLE1
            case 0x86:                                                // TUPLE2
                let b = try pop(), a = try pop()
                try push(.tuple(try newList([a, b])))
            case 0x87:                                                // TUPLE3
                let c = try pop(), b = try pop(), a = try pop()
                try push(.tuple(try newList([a, b, c])))
            case 0x74: try push(.tuple(try newList(try popMark())))           // TUPLE
            case 0x5D: try push(.list(try newList()))                         // EMPTY_LIST
            case 0x7D:                                                // EMPTY_DICT
                try charge(PickleBudget.object + 8)
                let dict = PickleDict(ordered: false)
                containers.append(dict)
                try push(.dict(dict))
            case 0x61:                                                // APPEND
                let value = try pop()
                try append([value], at: at)
            case 0x65: try append(try popMark(), at: at)              // APPENDS
            case 0x73:                                                // SETITEM
                let value = try pop(), key = try pop()
                try setItems([key, value], at: at)
            case 0x75: try setItems(try popMark(), at: at)            // SETITEMS
            case 0x71: try remember(Int(try unsigned(1, "BINPUT")))       // BINPUT
            case 0x72: try remember(Int(try unsigned(4, "LONG_BINPUT")))  // LONG_BINPUT
            case 0x94: try remember(memo.count)                           // MEMOIZE
            case 0x68: try recall(Int(try unsigned(1, "BINGET")))         // BINGET
            case 0x6A: try recall(Int(try unsigned(4, "LONG_BINGET")))    // LONG_BINGET
            case 0x63:                                                // GLOBAL
                let module = try line(), name = try line()
                try push(try global(module: module, name: name))
            case 0x93:                                                // STACK_GLOBAL
                let name = try pop(), module = try pop()
                guard let n = name.stringValue, let m = module.stringValue else {
                    throw fail("names a global with \(module.kindName) and \(name.kindName) instead of two strings", at: at)
                }
                try push(try global(module: m, name: n))
            case 0x52:                                                // REDUCE
                let args = try pop(), callable = try pop()
                guard case .global(let global) = callable, let items = args.tupleItems else {
                    throw fail("calls \(callable.kindName) with \(args.kindName); only allowed globals can be called, with a tuple", at: at)
                }
                let result = try global.call(items, path: path)
                try charge(PickleBudget.cost(of: result))
                if case .dict(let dict) = result { containers.append(dict) }
                try push(result)
            case 0x51:                                                // BINPERSID
                let storage = try TorchGlobal.storage(persistentID: try pop(), path: path)
                try charge(PickleBudget.cost(of: storage))
                if case .storage(let reference) = storage { storageReferences.append(reference) }
                try push(storage)
            case 0x62:                                                // BUILD
                let state = try pop()
                guard case .dict(let dict) = try top(), dict.ordered else {
                    throw fail("sets the state of \(try top().kindName) (BUILD); a weights-only state dict sets state only on an OrderedDict", at: at)
                }
                _ = state  // the state dict's `_metadata` (module versions): not needed
            default:
                throw fail("has opcode 0x\(String(opcode, radix: 16)) (\(PickleOpcodes.name(opcode))), which a torch.save state dict never uses; saegeo refuses it", at: at)
            }
        }
    }

    private func bigEndianDouble() throws -> UInt64 {
        let r = try take(8, "a float")
        return r.reduce(UInt64(0)) { $0 << 8 | UInt64(bytes[$1]) }
    }

    private func append(_ values: [PickleValue], at: Int) throws {
        guard case .list(let list) = try top() else {
            throw fail("appends to \(try top().kindName), not a list", at: at)
        }
        try charge(values.count * PickleBudget.slot)
        list.items.append(contentsOf: values)
    }

    private func setItems(_ pairs: [PickleValue], at: Int) throws {
        guard case .dict(let dict) = try top() else {
            throw fail("sets items of \(try top().kindName), not a dict", at: at)
        }
        guard pairs.count % 2 == 0 else { throw fail("sets dict items from an odd number of values", at: at) }
        try charge(pairs.count * PickleBudget.slot)
        for i in stride(from: 0, to: pairs.count, by: 2) { dict.entries.append((pairs[i], pairs[i + 1])) }
    }
}
