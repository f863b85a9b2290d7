/// Reads the header of a NumPy `.npy` file and maps its 2-D array in place.
/// Format: magic "\x93NUMPY", version, header length, a Python dict literal, then the data.
struct NpyFile {
    let file: MappedFile
    let scalarType: ScalarType
    let shape: [Int]
    let fortranOrder: Bool
    let dataOffset: Int

    init(path: String) throws {
        try self.init(file: MappedFile(path: path))
    }

    init(file: MappedFile) throws {
        self.file = file
        let bytes = file.bytes
        let path = file.path
        let magic: [UInt8] = [0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59]
        guard bytes.count >= 10, Array(bytes[0..<6]) == magic else {
            throw SaegeoError.badFile("\(path) is not a .npy file (no NUMPY magic); save the matrix with numpy.save")
        }
        let major = bytes[6]
        let headerLength: Int
        let headerStart: Int
        switch major {
        case 1:
            headerLength = Int(bytes[8]) | Int(bytes[9]) << 8
            headerStart = 10
        case 2, 3:
            guard bytes.count >= 12 else { throw SaegeoError.badFile("\(path): truncated .npy header") }
            headerLength = (0..<4).reduce(0) { $0 | Int(bytes[8 + $1]) << (8 * $1) }
            headerStart = 12
        default:
            throw SaegeoError.badFile("\(path): unsupported .npy version \(major); save it with numpy.save")
        }
        guard headerLength <= 1 << 20, headerStart + headerLength <= bytes.count else {
            throw SaegeoError.badFile("\(path): .npy header of \(headerLength) bytes runs past the end of the file (\(bytes.count) bytes)")
        }
        let header = String(decoding: bytes[headerStart..<(headerStart + headerLength)], as: UTF8.self)
        let fields = try NpyHeader(parsing: header, path: path)
        scalarType = fields.scalarType
        shape = fields.shape
        fortranOrder = fields.fortranOrder
        dataOffset = headerStart + headerLength

        let (elements, overflow1) = shape.reduce((1, false)) { acc, n in
            let (p, o) = acc.0.multipliedReportingOverflow(by: n)
            return (p, acc.1 || o)
        }
        let (byteLength, overflow2) = elements.multipliedReportingOverflow(by: scalarType.byteSize)
        guard !overflow1, !overflow2, dataOffset + byteLength <= bytes.count else {
            throw SaegeoError.badFile("\(path): shape \(shape) of \(scalarType.rawValue) needs more bytes than the file's \(bytes.count - dataOffset) after the header; the file is truncated or corrupt")
        }
    }

    /// The array as a feature matrix: `[features, dimension]` with one feature per row.
    func featureMatrix() throws -> FeatureMatrix {
        guard shape.count == 2 else {
            throw SaegeoError.badFile("\(file.path): expected a 2-D decoder matrix [d_sae, d_model], found shape \(shape)")
        }
        guard shape[0] > 0, shape[1] > 0 else {
            throw SaegeoError.badFile("\(file.path): the decoder matrix has shape \(shape); it needs at least one feature and one dimension")
        }
        return FeatureMatrix(file: file, byteOffset: dataOffset, features: shape[0], dimension: shape[1],
                             scalarType: scalarType, layout: fortranOrder ? .columns : .rows)
    }
}

/// The dict literal of a .npy header, e.g. `{'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), }`.
struct NpyHeader {
    let scalarType: ScalarType
    let fortranOrder: Bool
    let shape: [Int]

    init(parsing header: String, path: String) throws {
        func value(of key: String) -> Substring? {
            guard let keyRange = header.range(of: "'\(key)'") else { return nil }
            var rest = header[keyRange.upperBound...].drop { $0 == " " }
            guard rest.first == ":" else { return nil }
            rest = rest.dropFirst().drop { $0 == " " }
            return rest
        }
        guard let descrField = value(of: "descr"), descrField.first == "'",
              let descrEnd = descrField.dropFirst().firstIndex(of: "'") else {
            throw SaegeoError.badFile("\(path): .npy header has no 'descr' field")
        }
        let descr = String(descrField[descrField.index(after: descrField.startIndex)..<descrEnd])
        switch descr {
        case "<f4", "=f4": scalarType = .f32
        case "<f2", "=f2": scalarType = .f16
        default:
            throw SaegeoError.badFile("\(path): dtype '\(descr)' is not supported; store the matrix as little-endian float32 (<f4) or float16 (<f2)")
        }
        guard let orderField = value(of: "fortran_order") else {
            throw SaegeoError.badFile("\(path): .npy header has no 'fortran_order' field")
        }
        fortranOrder = orderField.hasPrefix("True")
        guard let shapeField = value(of: "shape"), shapeField.first == "(",
              let close = shapeField.firstIndex(of: ")") else {
            throw SaegeoError.badFile("\(path): .npy header has no 'shape' field")
        }
        let inner = shapeField[shapeField.index(after: shapeField.startIndex)..<close]
        var dims: [Int] = []
        for part in inner.split(separator: ",") {
            let trimmed = part.trimmingCharacters(in: .whitespaces)
            if trimmed.isEmpty { continue }
            guard let n = Int(trimmed), n >= 0 else {
                throw SaegeoError.badFile("\(path): .npy shape entry '\(trimmed)' is not a size")
            }
            dims.append(n)
        }
        shape = dims
    }
}

import Foundation
