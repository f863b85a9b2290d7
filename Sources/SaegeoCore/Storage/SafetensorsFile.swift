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
        let header: Header
        do {
            header = try JSONDecoder().decode(Header.self, from: Data(headerBytes))
        } catch let error as SaegeoError {
            throw SaegeoError.badFile("\(path): \(error.message)")
        } catch {
            throw SaegeoError.badFile("\(path): header is not valid safetensors JSON (\(Self.describe(error))); re-save the file with safetensors")
        }
        metadata = header.metadata

        let dataStart = 8 + headerLength
        let dataLength = file.size - dataStart
        var expectedStart = 0
        var entries: [Entry] = []
        for raw in header.tensors.sorted(by: { ($0.begin, $0.end, $0.name) < ($1.begin, $1.end, $1.name) }) {
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
            entries.append(Entry(name: raw.name, dtype: raw.dtype, shape: raw.shape,
                                 byteRange: (dataStart + raw.begin)..<(dataStart + raw.end)))
            expectedStart = raw.end
        }
        guard expectedStart == dataLength else {
            throw SaegeoError.badFile("\(path): tensors cover \(expectedStart) of the \(dataLength) data bytes; the file has trailing bytes or is corrupt")
        }
        self.entries = entries
    }

    public func entry(_ name: String) -> Entry? { entries.first { $0.name == name } }

    public func tensor(_ name: String) -> StoredTensor? {
        entry(name).map { StoredTensor(name: $0.name, dtype: $0.dtype, shape: $0.shape, storage: .mapped(file, $0.byteRange.lowerBound)) }
    }

    public var tensors: [StoredTensor] { entries.map { tensor($0.name)! } }

    static func describe(_ error: Error) -> String {
        switch error {
        case DecodingError.dataCorrupted(let context): context.debugDescription
        case DecodingError.typeMismatch(_, let context): "wrong type at \(context.codingPath.map(\.stringValue).joined(separator: "."))"
        case DecodingError.keyNotFound(let key, let context):
            "missing '\(key.stringValue)' in \(context.codingPath.map(\.stringValue).joined(separator: "."))"
        default: "\(error)"
        }
    }

    /// The JSON header: tensor entries plus an optional `__metadata__` of string pairs.
    private struct Header: Decodable {
        struct RawTensor {
            let name: String
            let dtype: String
            let shape: [Int]
            let begin: Int
            let end: Int
        }

        var tensors: [RawTensor] = []
        var metadata: [String: String] = [:]

        private struct Key: CodingKey {
            var stringValue: String
            var intValue: Int? { nil }
            init(stringValue: String) { self.stringValue = stringValue }
            init?(intValue: Int) { nil }
        }

        private struct TensorFields: Decodable {
            let dtype: String
            let shape: [Int]
            let data_offsets: [Int]
        }

        init(from decoder: Decoder) throws {
            let container = try decoder.container(keyedBy: Key.self)
            for key in container.allKeys {
                if key.stringValue == "__metadata__" {
                    metadata = try container.decode([String: String].self, forKey: key)
                    continue
                }
                let fields = try container.decode(TensorFields.self, forKey: key)
                guard fields.data_offsets.count == 2, fields.data_offsets.allSatisfy({ $0 >= 0 }),
                      fields.shape.allSatisfy({ $0 >= 0 }) else {
                    throw SaegeoError.badFile("tensor '\(key.stringValue)' needs two non-negative data_offsets and a non-negative shape")
                }
                tensors.append(RawTensor(name: key.stringValue, dtype: fields.dtype, shape: fields.shape,
                                         begin: fields.data_offsets[0], end: fields.data_offsets[1]))
            }
        }
    }
}
