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
        guard headerLength <= 1 << 20, headerStart + headerLength <= bytes.count else {
            throw SaegeoError.badFile("\(name): .npy header of \(headerLength) bytes runs past the end of the data (\(bytes.count) bytes)")
        }
        let text = String(decoding: bytes[headerStart..<(headerStart + headerLength)], as: UTF8.self)
        dataOffset = headerStart + headerLength

        func value(of key: String) -> Substring? {
            guard let keyRange = text.range(of: "'\(key)'") else { return nil }
            var rest = text[keyRange.upperBound...].drop { $0 == " " }
            guard rest.first == ":" else { return nil }
            rest = rest.dropFirst().drop { $0 == " " }
            return rest
        }
        guard let descrField = value(of: "descr"), descrField.first == "'",
              let descrEnd = descrField.dropFirst().firstIndex(of: "'") else {
            throw SaegeoError.badFile("\(name): .npy header has no 'descr' field")
        }
        let descr = String(descrField[descrField.index(after: descrField.startIndex)..<descrEnd])
        guard let (dtype, size) = Self.dtypes[descr] else {
            throw SaegeoError.badFile("\(name): dtype '\(descr)' is not supported; store the matrix as little-endian float32 (<f4) or float16 (<f2)")
        }
        self.dtype = dtype
        elementSize = size
        guard let orderField = value(of: "fortran_order") else {
            throw SaegeoError.badFile("\(name): .npy header has no 'fortran_order' field")
        }
        fortranOrder = orderField.hasPrefix("True")
        guard let shapeField = value(of: "shape"), shapeField.first == "(",
              let close = shapeField.firstIndex(of: ")") else {
            throw SaegeoError.badFile("\(name): .npy header has no 'shape' field")
        }
        var dims: [Int] = []
        for part in shapeField[shapeField.index(after: shapeField.startIndex)..<close].split(separator: ",") {
            let trimmed = part.trimmingCharacters(in: .whitespaces)
            if trimmed.isEmpty { continue }
            guard let n = Int(trimmed), n >= 0 else {
                throw SaegeoError.badFile("\(name): .npy shape entry '\(trimmed.prefix(20))' is not a size")
            }
            dims.append(n)
        }
        shape = dims
    }
}
