import Foundation
import Testing
@testable import SaegeoCore

/// The storage readers against hand-made hostile files (issue 21, items 7 to 9 and 15): zip CRCs
/// checked for every member read (npz and .pt), pickle memory bounded by the pickle's size, member
/// lookups in linear time, and strided PyTorch views read as torch.load reads them (the .npy
/// headers: HostileNpyHeaderTests). Every fixture is built here, byte by byte.
struct HostileStorageTests: HostileSuite {
    // MARK: Building files

    /// A protocol 2 pickle written opcode by opcode.
    struct Pickle {
        var bytes: [UInt8] = [0x80, 2]
        mutating func op(_ code: UInt8) { bytes.append(code) }
        mutating func string(_ s: String) {
            let utf8 = Array(s.utf8)
            bytes += [0x58] + (0..<4).map { UInt8((utf8.count >> (8 * $0)) & 0xFF) } + utf8
        }
        mutating func int(_ v: Int) {
            bytes += [0x4A] + (0..<4).map { UInt8((UInt32(truncatingIfNeeded: v) >> (8 * UInt32($0))) & 0xFF) }
        }
        mutating func global(_ module: String, _ name: String) { bytes += [0x63] + Array("\(module)\n\(name)\n".utf8) }
        mutating func tuple(_ ints: [Int]) { op(0x28); ints.forEach { int($0) }; op(0x74) }

        /// `_rebuild_tensor_v2(storage, offset, size, stride, False, OrderedDict())` on a float32
        /// storage `key` of `count` elements.
        mutating func tensor(key: String, count: Int, offset: Int, size: [Int], stride: [Int]) {
            global("torch._utils", "_rebuild_tensor_v2")
            op(0x28)
            op(0x28); string("storage"); global("torch", "FloatStorage"); string(key); string("cpu"); int(count); op(0x74)
            op(0x51)                                           // BINPERSID
            int(offset); tuple(size); tuple(stride); op(0x89)  // NEWFALSE
            global("collections", "OrderedDict"); op(0x29); op(0x52)
            op(0x74); op(0x52)
        }

        /// A state dict `{name: tensor}` of float32 views on storages.
        static func stateDict(_ views: [(name: String, key: String, count: Int, offset: Int, size: [Int], stride: [Int])]) -> [UInt8] {
            var p = Pickle()
            p.op(0x7D)   // EMPTY_DICT
            for v in views {
                p.string(v.name)
                p.tensor(key: v.key, count: v.count, offset: v.offset, size: v.size, stride: v.stride)
                p.op(0x73)   // SETITEM
            }
            p.op(0x2E)
            return p.bytes
        }
    }

    /// A torch.save-style zip: `archive/data.pkl`, `archive/byteorder`, `archive/data/<key>`.
    static func torchZip(pickle: [UInt8], storages: [(key: String, values: [Float])]) -> [UInt8] {
        var members: [(name: String, data: [UInt8])] = [("archive/data.pkl", pickle), ("archive/byteorder", Array("little".utf8))]
        for s in storages { members.append(("archive/data/\(s.key)", CheckpointBytes.encode(s.values, as: "F32"))) }
        return CheckpointBytes.zip(members, deflate: false)
    }

    static func parse(_ bytes: [UInt8], path: String = "memory.pt") throws -> TorchCheckpointFile {
        try TorchCheckpointFile(file: bytes.withUnsafeBytes { MappedFile(copying: $0, path: path) })
    }

    // MARK: Item 7: zip CRCs of .pt records

    static let storage12: [Float] = (0..<12).map { Float($0) * 0.5 - 2 }

    static func plainCheckpoint() -> [UInt8] {
        let pickle = Pickle.stateDict([("weight", "0", 12, 0, [3, 4], [4, 1])])
        return torchZip(pickle: pickle, storages: [("0", storage12)])
    }

    /// Where `needle` first occurs in `haystack`.
    static func find(_ needle: [UInt8], in haystack: [UInt8]) -> Int {
        (0...(haystack.count - needle.count)).first { Array(haystack[$0..<($0 + needle.count)]) == needle }!
    }

    @Test(".pt: one flipped byte in a storage record is refused by its CRC-32 when the tensor is read")
    func ptStorageCRC() throws {
        var bytes = Self.plainCheckpoint()
        #expect(try Self.parse(bytes).tensor("weight")?.floatValues() == Self.storage12)
        let data = Self.find(CheckpointBytes.encode(Self.storage12, as: "F32"), in: bytes)
        bytes[data + 9] ^= 0x01
        let checkpoint = try Self.parse(bytes)
        let tensor = try #require(checkpoint.tensor("weight"))
        Self.expectRefused("CRC-32") { _ = try tensor.floatValues() }
        Self.expectRefused("CRC-32") { _ = try tensor.featureMatrix(featureAxis: 0) }
    }

    @Test(".pt: damage to data.pkl or byteorder is refused by its CRC-32")
    func ptPickleCRC() throws {
        var bytes = Self.plainCheckpoint()
        // The size tuple's (3, 4) becomes (3, 2): still a valid pickle, a different tensor.
        let size = Self.find([0x28, 0x4A, 3, 0, 0, 0, 0x4A, 4, 0, 0, 0, 0x74], in: bytes)
        bytes[size + 7] = 2
        Self.expectRefused("CRC-32") { _ = try Self.parse(bytes) }
        var order = Self.plainCheckpoint()
        order[Self.find(Array("little".utf8), in: order) + 5] = UInt8(ascii: "E")
        Self.expectRefused("CRC-32") { _ = try Self.parse(order) }
    }

    @Test("neighbors on a .pt decoder with one flipped byte in archive/data/0: one line, exit 1, no output")
    func ptCRCCommand() throws {
        let folder = try Self.folder("pt-crc")
        var random = SystemRandomNumberGenerator()
        let values = (0..<(64 * 16)).map { _ in Float.random(in: -1...1, using: &random) }
        let pickle = Pickle.stateDict([("W_dec", "0", 64 * 16, 0, [64, 16], [16, 1])])
        var bytes = Self.torchZip(pickle: pickle, storages: [("0", values)])
        try CheckpointBytes.write(bytes, to: folder + "/good.pt")
        let good = try CommandRunner.saegeo(["neighbors", "--sae", folder + "/good.pt", "-k", "3", "-o", folder + "/good.safetensors", "--device", "cpu"])
        #expect(good.status == 0, "\(good.stderr)")
        bytes[Self.find(CheckpointBytes.encode(values, as: "F32"), in: bytes) + 100] ^= 0x01
        try CheckpointBytes.write(bytes, to: folder + "/flipped.pt")
        let flipped = try CommandRunner.saegeo(["neighbors", "--sae", folder + "/flipped.pt", "-k", "3", "-o", folder + "/flipped.safetensors", "--device", "cpu"])
        Self.expectOneLineError(flipped, "flipped.pt member archive/data/0", "CRC-32", "re-save it with torch.save")
        #expect(!FileManager.default.fileExists(atPath: folder + "/flipped.safetensors"))
    }

    // MARK: Item 9: member lookups in linear time

    /// A stored zip with `count` tiny members, written directly (the general builder is too slow
    /// for this many).
    static func manyMembers(_ count: Int, name: (Int) -> String) -> [UInt8] {
        func u16(_ v: Int) -> [UInt8] { [UInt8(v & 0xFF), UInt8((v >> 8) & 0xFF)] }
        func u32(_ v: Int) -> [UInt8] { (0..<4).map { UInt8((v >> (8 * $0)) & 0xFF) } }
        let payload = CheckpointBytes.npy(descr: "<f4", shape: [1], payload: [0, 0, 0x80, 0x3F])
        let crc = Int(CheckpointBytes.crc(payload))
        var out: [UInt8] = [], central: [UInt8] = []
        out.reserveCapacity(count * (payload.count + 60))
        for i in 0..<count {
            let n = Array(name(i).utf8)
            let offset = out.count
            out += u32(0x0403_4B50) + u16(20) + u16(0) + u16(0) + u32(0) + u32(crc) + u32(payload.count) + u32(payload.count)
            out += u16(n.count) + u16(0) + n + payload
            central += u32(0x0201_4B50) + u16(20) + u16(20) + u16(0) + u16(0) + u32(0) + u32(crc) + u32(payload.count)
            central += u32(payload.count) + u16(n.count) + u16(0) + u16(0) + u16(0) + u16(0) + u32(0) + u32(offset) + n
        }
        let directory = out.count
        out += central
        out += u32(0x0605_4B50) + u16(0) + u16(0) + u16(0xFFFF) + u16(0xFFFF) + u32(central.count) + u32(directory) + u16(0)
        // 0xFFFF entries in the record: the ZIP64 record gives the real count.
        let record = out.count - 22
        var zip64: [UInt8] = u32(0x0606_4B50) + [44, 0, 0, 0, 0, 0, 0, 0] + u16(45) + u16(45) + u32(0) + u32(0)
        zip64 += (0..<8).map { UInt8((count >> (8 * $0)) & 0xFF) } + (0..<8).map { UInt8((count >> (8 * $0)) & 0xFF) }
        zip64 += (0..<8).map { UInt8((central.count >> (8 * $0)) & 0xFF) } + (0..<8).map { UInt8((directory >> (8 * $0)) & 0xFF) }
        let zip64Offset = record
        zip64 += u32(0x0706_4B50) + u32(0) + (0..<8).map { UInt8((zip64Offset >> (8 * $0)) & 0xFF) } + u32(1)
        out.insert(contentsOf: zip64, at: record)
        return out
    }

    @Test("zip: 150,000 members are read in linear time; a name given twice is still refused")
    func manyMembersLinear() throws {
        let bytes = Self.manyMembers(150_000) { "m\($0).npy" }
        let file = bytes.withUnsafeBytes { MappedFile(copying: $0, path: "many.npz") }
        let start = Date()
        let archive = try NpzArchive(file: file)
        let elapsed = Date().timeIntervalSince(start)
        #expect(archive.members.count == 150_000)
        #expect(archive.member("m149999")?.name == "m149999" && archive.member("m150000") == nil)
        #expect(elapsed < 15, "150,000 members took \(elapsed) s")
        let twice = Self.manyMembers(3) { $0 == 2 ? "m0.npy" : "m\($0).npy" }
        Self.expectRefused("appears twice") { _ = try NpzArchive(file: twice.withUnsafeBytes { MappedFile(copying: $0, path: "twice.npz") }) }
    }

    // MARK: Item 15: strided views

    @Test(".pt: strided views read as torch.load reads them, copied when they cannot be used in place")
    func stridedViews() throws {
        let s = Self.storage12
        let pickle = Pickle.stateDict([
            ("bias", "0", 12, 1, [5], [2]),                 // storage[1::2][:5]
            ("grid", "0", 12, 1, [2, 3], [6, 2]),           // rows 6 apart, every other column
            ("repeat", "0", 12, 4, [3], [0]),               // one element three times (expand)
            ("column", "0", 12, 2, [3, 1], [4, 7]),         // a size-1 axis's stride does not matter
            ("whole", "0", 12, 0, [12], [1]),
            ("transposed", "0", 12, 0, [4, 3], [1, 4]),
        ])
        let checkpoint = try Self.parse(Self.torchZip(pickle: pickle, storages: [("0", s)]))
        func values(_ name: String) throws -> [Float] { try #require(checkpoint.tensor(name)).floatValues() }
        #expect(try values("bias") == [s[1], s[3], s[5], s[7], s[9]])
        #expect(try values("grid") == [s[1], s[3], s[5], s[7], s[9], s[11]])
        #expect(try values("repeat") == [s[4], s[4], s[4]])
        #expect(try values("column") == [s[2], s[6], s[10]])
        #expect(try values("whole") == s)
        #expect(try values("transposed") == [s[0], s[4], s[8], s[1], s[5], s[9], s[2], s[6], s[10], s[3], s[7], s[11]])
        #expect(try #require(checkpoint.tensor("bias")).numericValues() == [1, 3, 5, 7, 9].map { Double(s[$0]) })
        // As a decoder: the copy is what the matrix reads.
        let matrix = try #require(checkpoint.tensor("grid")).featureMatrix(featureAxis: 0)
        var row = [Float](repeating: 0, count: 3)
        row.withUnsafeMutableBufferPointer { matrix.copyFeature(1, into: $0.baseAddress!) }
        #expect(row == [s[7], s[9], s[11]])
    }

    @Test(".pt: a view past its storage, or one that would copy more than its storage holds, is refused")
    func stridedRefusals() throws {
        Self.expectRefused("reaches past the 12 elements") {
            _ = try Self.parse(Self.torchZip(pickle: Pickle.stateDict([("bias", "0", 12, 2, [6], [2])]), storages: [("0", Self.storage12)]))
        }
        Self.expectRefused("reaches past") {
            _ = try Self.parse(Self.torchZip(pickle: Pickle.stateDict([("bias", "0", 12, 0, [2, 2], [Int(Int32.max), 1])]), storages: [("0", Self.storage12)]))
        }
        Self.expectRefused("non-negative") {
            _ = try Self.parse(Self.torchZip(pickle: Pickle.stateDict([("bias", "0", 12, 11, [3], [-2])]), storages: [("0", Self.storage12)]))
        }
        // 1,000,000 copies of one element from a 12-element storage: listed, its use refused.
        let checkpoint = try Self.parse(Self.torchZip(pickle: Pickle.stateDict([("big", "0", 12, 0, [1_000_000], [0])]), storages: [("0", Self.storage12)]))
        let big = try #require(checkpoint.tensor("big"))
        #expect(big.shape == [1_000_000])
        Self.expectRefused("more elements than its storage") { _ = try big.floatValues() }
    }

    // MARK: Item 8: memory bounded by the pickle

    @Test(".pt: a pickle of 8 MB of EMPTY_LIST is refused before it holds 845 MB")
    func emptyListFlood() throws {
        let n = 8_000_000
        var pickle: [UInt8] = [0x80, 2, 0x7D]
        pickle += [UInt8](repeating: 0x5D, count: n)
        pickle += [UInt8](repeating: 0x30, count: n) + [0x2E]   // POP them all, then the dict
        Self.expectRefused("memory") { _ = try Self.parse(Self.torchZip(pickle: pickle, storages: [])) }
    }

    @Test(".pt: flattened names of a memoised long key nested 30 deep are refused, not built")
    func nestedLongKey() throws {
        var p = Pickle()
        p.op(0x7D)
        p.string(String(repeating: "k", count: 64 << 10))
        p.op(0x71); p.op(0)                       // BINPUT 0
        for level in 0..<30 {
            p.op(0x7D)
            if level < 29 { p.op(0x68); p.op(0) }  // BINGET 0: the next level's key
        }
        for leaf in 0..<80 { p.int(leaf); p.op(0x4E); p.op(0x73) }
        for _ in 0..<29 { p.op(0x73) }             // each level into the one above
        p.op(0x73)                                 // the first level into the root
        p.op(0x2E)
        Self.expectRefused("memory") { _ = try Self.parse(Self.torchZip(pickle: p.bytes, storages: [])) }
    }

    /// What reading a .pt's pickle and flattening it charges to the budget, and the pickle's size.
    static func charged(_ bytes: [UInt8]) throws -> (charged: Int, pickle: Int) {
        let file = bytes.withUnsafeBytes { MappedFile(copying: $0, path: "memory.pt") }
        let archive = try NpzArchive(file: file, kind: TorchCheckpointFile.zipKind)
        let pickle = try #require(archive.members.first { $0.name.hasSuffix("/data.pkl") })
        let budget = PickleBudget(path: file.path)
        let machine = PickleMachine(bytes: file.bytes, start: pickle.dataRange.lowerBound, end: pickle.dataRange.upperBound,
                                    path: file.path, budget: budget)
        _ = try machine.load { try TorchStateDictFlattening($0, opcodes: machine.opcodes, path: file.path, budget: budget) }
        return (budget.charged, pickle.dataRange.count)
    }

    @Test(".pt: real state dicts stay far inside the memory budget")
    func budgetLeavesRealFiles() throws {
        // 20,000 tensors on 20,000 storages, as a large module's state dict has: past the floor.
        let views = (0..<20_000).map { ("layers.\($0 / 4).block.\($0 % 4).weight", "\($0)", 12, 0, [3, 4], [4, 1]) }
        let storages = (0..<20_000).map { (key: "\($0)", values: Self.storage12) }
        let bytes = Self.torchZip(pickle: Pickle.stateDict(views), storages: storages)
        let checkpoint = try Self.parse(bytes)
        #expect(checkpoint.tensors.count == 20_000)
        #expect(try checkpoint.tensor("layers.4999.block.3.weight")?.floatValues() == Self.storage12)
        // What torch.save wrote (memoised globals, nested dicts, parameters), and the above.
        var files = try ["sae_zip.pt", "mixed_zip.pt", "views_zip.pt"].map { try [UInt8](Data(contentsOf: URL(fileURLWithPath: TorchPickleTests.fixture($0)))) }
        files.append(bytes)
        for file in files {
            let (charged, pickle) = try Self.charged(file)
            #expect(charged <= PickleBudget.perPickleByte / 2 * pickle, "\(charged) bytes charged for a pickle of \(pickle)")
        }
    }
}
