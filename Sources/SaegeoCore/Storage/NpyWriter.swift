import Foundation

/// Writes a little-endian float32 2-D array as a version 1.0 `.npy` file, atomically.
public enum NpyWriter {
    public static func write(float32 values: [Float], rows: Int, columns: Int, to path: String) throws {
        precondition(values.count == rows * columns, "npy payload does not match its shape")
        var header = "{'descr': '<f4', 'fortran_order': False, 'shape': (\(rows), \(columns)), }"
        // Magic (6) + version (2) + length (2) + header + newline is padded to a multiple of 64.
        let unpadded = 10 + header.utf8.count + 1
        header += String(repeating: " ", count: (64 - unpadded % 64) % 64) + "\n"
        var bytes = Data([0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59, 1, 0])
        let length = UInt16(header.utf8.count)
        bytes.append(contentsOf: [UInt8(length & 0xFF), UInt8(length >> 8)])
        bytes.append(contentsOf: header.utf8)
        try AtomicOutput.write(to: path) { handle in
            try handle.write(contentsOf: bytes)
            // Write in slices so a large matrix is never copied whole.
            let chunk = 1 << 22
            try values.withUnsafeBytes { raw in
                var offset = 0
                while offset < raw.count {
                    let end = min(raw.count, offset + chunk)
                    try handle.write(contentsOf: Data(raw[offset..<end]))
                    offset = end
                }
            }
        }
    }
}
