import Foundation

/// A safetensors file, validated as strictly as the reference reader: an 8-byte little-endian
/// header length (at most 100 MB, inside the file), a UTF-8 JSON object starting with '{', every
/// tensor with a known dtype, a shape whose element count times the dtype size equals its byte
/// range, ranges contiguous from 0 without gaps or overlaps and ending exactly at the end of the
/// file, no arithmetic overflow anywhere. Only the header is read; tensors stay mapped.
public struct SafetensorsFile: Sendable {
    public struct Entry: Sendable, Equatable {
        public let name: String
        public let dtype: String
        public let shape: [Int]
        /// Absolute byte range in the file.
        public let byteRange: Range<Int>
    }

    public static let maxHeaderBytes = 100_000_000
    /// Element sizes of every dtype the format defines.
    static let dtypeSizes: [String: Int] = [
        "BOOL": 1, "U8": 1, "I8": 1, "F8_E5M2": 1, "F8_E4M3": 1, "I16": 2, "U16": 2, "F16": 2, "BF16": 2,
        "I32": 4, "U32": 4, "F32": 4, "F64": 8, "I64": 8, "U64": 8,
    ]

    public let file: MappedFile
    public let entries: [Entry]        // in file order
    public let metadata: [String: String]
    /// Lookups by name without scanning a large header: the position of each name among the
    /// header's keys (hashed once, by the parse), then that key's position in `entries` (-1 for
    /// `__metadata__`).
    private let keyPositions: [String: Int]
    private let entryOfKey: [Int]

    public init(path: String) throws {
        try self.init(file: MappedFile(path: path))
    }

    public init(file: MappedFile) throws {
        self.file = file
        let path = file.path
        let reader = LittleEndianReader(bytes: file.bytes, path: path)
        guard file.size >= 8 else {
            throw SaegeoError.badFile("\(path): \(file.size) bytes is too small for a safetensors file (8-byte header length missing)")
        }
        let headerLength = try reader.u64(0, "header length")
        guard headerLength <= Self.maxHeaderBytes else {
            throw SaegeoError.badFile("\(path): header length \(headerLength) exceeds the 100 MB limit; the file is not safetensors or is corrupt")
        }
        guard headerLength <= file.size - 8 else {
            throw SaegeoError.badFile("\(path): header length \(headerLength) runs past the end of the file (\(file.size) bytes); the file is truncated")
        }
        let headerBytes = UnsafeRawBufferPointer(rebasing: file.bytes[8..<(8 + headerLength)])
        guard headerBytes.first == UInt8(ascii: "{") else {
            throw SaegeoError.badFile("\(path): header does not start with '{'; the file is not safetensors")
        }
        let header = try Header(headerBytes, path: path)
        metadata = header.metadata

        let dataStart = 8 + headerLength
        let dataLength = file.size - dataStart
        var expectedStart = 0
        var entries: [Entry] = []
        // Usually already in offset order; sorting only when not keeps a large header linear.
        var raws = header.tensors
        if !raws.indices.dropFirst().allSatisfy({ Self.inOrder(raws[$0 - 1], raws[$0]) }) {
            raws.sort(by: Self.inOrder)
        }
        var entryOfKey = [Int](repeating: -1, count: header.keyPositions.count)
        for raw in raws {
            guard let size = Self.dtypeSizes[raw.dtype] else {
                throw SaegeoError.badFile("\(path): tensor '\(raw.name)' has unknown dtype '\(raw.dtype)'")
            }
            guard let elements = checkedProduct(raw.shape), let bytes = checkedProduct([elements, size]) else {
                throw SaegeoError.badFile("\(path): tensor '\(raw.name)' shape \(raw.shape) overflows when sized")
            }
            guard raw.begin == expectedStart, raw.end >= raw.begin else {
                throw SaegeoError.badFile("\(path): tensor '\(raw.name)' data_offsets [\(raw.begin), \(raw.end)] are not contiguous with the previous tensor (expected to start at \(expectedStart)); the tensors overlap or leave a gap")
            }
            guard raw.end - raw.begin == bytes else {
                throw SaegeoError.badFile("\(path): tensor '\(raw.name)' has shape \(raw.shape) of \(raw.dtype) (\(bytes) bytes) but data_offsets [\(raw.begin), \(raw.end)] hold \(raw.end - raw.begin) bytes")
            }
            guard raw.end <= dataLength else {
                throw SaegeoError.badFile("\(path): tensor '\(raw.name)' data_offsets end at \(raw.end), past the \(dataLength) data bytes in the file; the file is truncated")
            }
            entryOfKey[raw.keyPosition] = entries.count
            entries.append(Entry(name: raw.name, dtype: raw.dtype, shape: raw.shape,
                                 byteRange: (dataStart + raw.begin)..<(dataStart + raw.end)))
            expectedStart = raw.end
        }
        guard expectedStart == dataLength else {
            throw SaegeoError.badFile("\(path): tensors cover \(expectedStart) of the \(dataLength) data bytes; the file has trailing bytes or is corrupt")
        }
        self.entries = entries
        self.keyPositions = header.keyPositions
        self.entryOfKey = entryOfKey
    }

    public func entry(_ name: String) -> Entry? {
        guard let key = keyPositions[name], entryOfKey[key] >= 0 else { return nil }
        return entries[entryOfKey[key]]
    }

    private static func inOrder(_ a: Header.RawTensor, _ b: Header.RawTensor) -> Bool {
        (a.begin, a.end, a.name) < (b.begin, b.end, b.name)
    }

    public func tensor(_ name: String) -> StoredTensor? {
        entry(name).map { StoredTensor(name: $0.name, dtype: $0.dtype, shape: $0.shape, storage: .mapped(file, $0.byteRange.lowerBound)) }
    }

    public var tensors: [StoredTensor] { entries.map { tensor($0.name)! } }

    /// The JSON header, read with StrictJSON: tensor entries plus an optional `__metadata__` of
    /// string pairs. Shapes and offsets must be JSON integers (`64.0` is refused, not truncated)
    /// and a tensor named twice is refused rather than one of the two silently winning.
    struct Header {
        struct RawTensor {
            let name: String
            let dtype: String
            let shape: [Int]
            let begin: Int
            let end: Int
            /// Its position among the header's keys.
            let keyPosition: Int
        }

        var tensors: [RawTensor] = []
        var metadata: [String: String] = [:]
        var keyPositions: [String: Int] = [:]

        init(_ bytes: UnsafeRawBufferPointer, path: String) throws {
            let root: JSONValue
            do {
                root = try StrictJSON.parse(bytes)
            } catch let error as StrictJSONError {
                if let name = error.duplicateKey, error.depth == 1 {
                    throw SaegeoError.badFile("\(path): tensor '\(name)' appears twice in the header; the file is corrupt, re-save it with safetensors")
                }
                // Offsets in the header are 8 past the offsets in the file.
                throw SaegeoError.badFile("\(path): header is not valid safetensors JSON (\(error.reason) at byte \(error.offset + 8)); re-save the file with safetensors")
            }
            guard let object = root.objectValue else {
                throw SaegeoError.badFile("\(path): header is \(root.kindName), not a JSON object; the file is not safetensors")
            }
            tensors.reserveCapacity(object.count)
            keyPositions = object.positions
            for (position, (name, value)) in object.members.enumerated() {
                if name == "__metadata__" {
                    guard let pairs = value.objectValue,
                          pairs.members.allSatisfy({ $0.value.stringValue != nil }) else {
                        throw SaegeoError.badFile("\(path): header's __metadata__ must be an object of string values; re-save the file with safetensors")
                    }
                    for (key, text) in pairs.members { metadata[key] = text.stringValue }
                    continue
                }
                tensors.append(try Self.tensor(name, value, keyPosition: position, path: path))
            }
        }

        static func tensor(_ name: String, _ value: JSONValue, keyPosition: Int, path: String) throws -> RawTensor {
            guard let fields = value.objectValue else {
                throw SaegeoError.badFile("\(path): tensor '\(name)' is \(value.kindName), not an object with dtype, shape and data_offsets; re-save the file with safetensors")
            }
            func field(_ key: String) throws -> JSONValue {
                guard let value = fields[key] else {
                    throw SaegeoError.badFile("\(path): tensor '\(name)' is missing '\(key)'; re-save the file with safetensors")
                }
                return value
            }
            func integers(_ key: String) throws -> [Int] {
                let value = try field(key)
                guard let list = value.arrayValue else {
                    throw SaegeoError.badFile("\(path): tensor '\(name)' \(key) is \(value.kindName), not a list of integers; re-save the file with safetensors")
                }
                var numbers: [Int] = []
                numbers.reserveCapacity(list.count)
                for element in list {
                    guard let number = element.intValue else {
                        throw SaegeoError.badFile("\(path): tensor '\(name)' \(key) holds \(Self.describe(element)), not a JSON integer; shapes and data_offsets must be written as integers")
                    }
                    numbers.append(number)
                }
                return numbers
            }
            let dtypeValue = try field("dtype")
            guard let dtype = dtypeValue.stringValue else {
                throw SaegeoError.badFile("\(path): tensor '\(name)' dtype is \(dtypeValue.kindName), not a string; re-save the file with safetensors")
            }
            let shape = try integers("shape")
            let offsets = try integers("data_offsets")
            guard offsets.count == 2, offsets.allSatisfy({ $0 >= 0 }), shape.allSatisfy({ $0 >= 0 }) else {
                throw SaegeoError.badFile("\(path): tensor '\(name)' needs two non-negative data_offsets and a non-negative shape")
            }
            return RawTensor(name: name, dtype: dtype, shape: shape, begin: offsets[0], end: offsets[1], keyPosition: keyPosition)
        }

        /// A value as it was written, near enough for an error message.
        static func describe(_ value: JSONValue) -> String {
            switch value {
            case .number(let v): "\(v)"
            case .string(let s): "\"\(s.prefix(40))\""
            default: value.kindName
            }
        }
    }
}
