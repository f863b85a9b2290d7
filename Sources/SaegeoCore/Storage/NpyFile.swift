import Foundation

/// A NumPy `.npy` array inside a mapped file (the whole file, or a stored member of an .npz):
/// magic "\x93NUMPY", version, header length, a Python dict literal, then the data.
struct NpyFile {
    let file: MappedFile
    let name: String
    let dtype: String
    let shape: [Int]
    let fortranOrder: Bool
    /// Absolute offset of the data in the file.
    let dataOffset: Int

    init(path: String) throws {
        let file = try MappedFile(path: path)
        try self.init(file: file, range: 0..<file.size, name: path)
    }

    /// Parses the array whose bytes are `range` of `file`; `name` is used in messages.
    init(file: MappedFile, range: Range<Int>, name: String) throws {
        self.file = file
        self.name = name
        let bytes = UnsafeRawBufferPointer(rebasing: file.bytes[range])
        let header = try NpyHeader(prefix: bytes, name: name)
        dtype = header.dtype
        shape = header.shape
        fortranOrder = header.fortranOrder
        dataOffset = range.lowerBound + header.dataOffset
        guard let elements = checkedProduct(shape), let byteLength = checkedProduct([elements, header.elementSize]),
              header.dataOffset <= bytes.count, byteLength <= bytes.count - header.dataOffset else {
            throw SaegeoError.badFile("\(name): shape \(shape) of \(dtype) needs more bytes than the \(max(0, bytes.count - header.dataOffset)) after the header; the file is truncated or corrupt")
        }
    }

    var tensor: StoredTensor {
        StoredTensor(name: name, dtype: dtype, shape: shape, storage: .mapped(file, dataOffset), columnMajor: fortranOrder)
    }
}

/// The header of an .npy array, parsed from its first bytes alone (which is all an npz member
/// needs to have inflated to tell its shape).
struct NpyHeader {
    let dtype: String
    let elementSize: Int
    let fortranOrder: Bool
    let shape: [Int]
    /// Offset of the data from the start of the array's bytes.
    let dataOffset: Int

    static let dtypes: [String: (String, Int)] = [
        "<f4": ("F32", 4), "=f4": ("F32", 4), "<f2": ("F16", 2), "=f2": ("F16", 2),
        "<i8": ("I64", 8), "=i8": ("I64", 8), "<i4": ("I32", 4), "=i4": ("I32", 4),
    ]

    init(prefix bytes: UnsafeRawBufferPointer, name: String) throws {
        let magic: [UInt8] = [0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59]
        guard bytes.count >= 10, Array(bytes[0..<6]) == magic else {
            throw SaegeoError.badFile("\(name) is not a .npy file (no NUMPY magic); save the matrix with numpy.save")
        }
        let reader = LittleEndianReader(bytes: bytes, path: name)
        let headerLength: Int, headerStart: Int
        switch bytes[6] {
        case 1: (headerLength, headerStart) = (try reader.u16(8, ".npy header length"), 10)
        case 2, 3: (headerLength, headerStart) = (try reader.u32(8, ".npy header length"), 12)
        default:
            throw SaegeoError.badFile("\(name): unsupported .npy version \(bytes[6]); save it with numpy.save")
        }
        // A character takes at most 4 bytes: a longer header is over numpy's limit however it decodes.
        guard headerLength <= 4 * Self.maxCharacters else {
            throw SaegeoError.badFile("\(name): the .npy header has \(headerLength) bytes, more than numpy's limit of \(Self.maxCharacters) characters (np.load refuses it too); save it with numpy.save")
        }
        guard headerStart + headerLength <= bytes.count else {
            throw SaegeoError.badFile("\(name): .npy header of \(headerLength) bytes runs past the end of the data (\(bytes.count) bytes)")
        }
        dataOffset = headerStart + headerLength
        let raw = bytes[headerStart..<(headerStart + headerLength)]
        // numpy decodes versions 1 and 2 as latin-1 (every byte a character), version 3 as UTF-8.
        let characters: [Unicode.Scalar]
        if bytes[6] == 3 {
            guard let text = String(bytes: raw, encoding: .utf8) else {
                throw SaegeoError.badFile("\(name): the version 3 .npy header is not UTF-8; save it with numpy.save")
            }
            characters = Array(text.unicodeScalars)
        } else {
            characters = raw.map { Unicode.Scalar($0) }
        }
        // np.load refuses longer headers unless the file is trusted with allow_pickle.
        guard characters.count <= Self.maxCharacters else {
            throw SaegeoError.badFile("\(name): the .npy header has \(characters.count) characters, more than numpy's limit of \(Self.maxCharacters) (np.load refuses it too); save it with numpy.save")
        }
        var parser = PythonLiteralParser(characters, numpyRetries: bytes[6] <= 2)
        let literal: PythonLiteral
        do {
            literal = try parser.parse()
        } catch let error as PythonLiteralError {
            throw SaegeoError.badFile("\(name): the .npy header \(error.reason) (at character \(error.offset)); saegeo reads the headers numpy.save writes, save it with numpy.save")
        }
        (dtype, elementSize, fortranOrder, shape) = try Self.fields(of: literal, name: name)
    }

    /// np.load's default `max_header_size`.
    static let maxCharacters = 10_000

    /// The header's fields, checked as numpy checks them, in its order: a dict (a key given
    /// twice keeps its last value), exactly the keys descr, fortran_order and shape, shape a
    /// tuple of integers, fortran_order a bool, descr a dtype saegeo reads.
    private static func fields(of literal: PythonLiteral, name: String) throws -> (String, Int, Bool, [Int]) {
        guard case .dict(let entries) = literal else {
            throw SaegeoError.badFile("\(name): the .npy header is \(literal.shortDescription), not a dictionary; save it with numpy.save")
        }
        var fields: [String: PythonLiteral] = [:]
        var keys: [String] = []
        for (key, value) in entries {
            guard case .string(let text) = key else {
                keys.append(key.shortDescription)
                continue
            }
            if fields.updateValue(value, forKey: text) == nil { keys.append(key.shortDescription) }
        }
        guard keys.count == 3, Set(fields.keys) == ["descr", "fortran_order", "shape"] else {
            throw SaegeoError.badFile("\(name): the .npy header has the keys \(printable(keys.joined(separator: ", "), limit: 120)); numpy requires exactly 'descr', 'fortran_order' and 'shape'; save it with numpy.save")
        }
        // A bool is an int to Python's isinstance, but numpy cannot make an array of that shape.
        let shapeField = fields["shape"]!
        guard case .tuple(let items) = shapeField, items.allSatisfy({ if case .int = $0 { true } else if case .bigInt = $0 { true } else { false } }) else {
            throw SaegeoError.badFile("\(name): the .npy header's shape is \(shapeField.shortDescription), not a tuple of integers; save it with numpy.save")
        }
        var shape: [Int] = []
        for item in items {
            guard case .int(let n) = item, n >= 0 else {
                throw SaegeoError.badFile("\(name): the .npy header's shape holds \(item.shortDescription), not a size; the file is corrupt")
            }
            shape.append(n)
        }
        guard case .bool(let fortranOrder) = fields["fortran_order"]! else {
            throw SaegeoError.badFile("\(name): the .npy header's fortran_order is \(fields["fortran_order"]!.shortDescription), not True or False; save it with numpy.save")
        }
        guard case .string(let descr) = fields["descr"]! else {
            throw SaegeoError.badFile("\(name): the .npy header's descr is \(fields["descr"]!.shortDescription), not a dtype string; save it with numpy.save")
        }
        guard let (dtype, size) = dtypes[descr] else {
            throw SaegeoError.badFile("\(name): dtype '\(printable(descr, limit: 30))' is not supported; store the matrix as little-endian float32 (<f4) or float16 (<f2)")
        }
        return (dtype, size, fortranOrder, shape)
    }
}
