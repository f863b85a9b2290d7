import Foundation

/// A tensor to be written to a safetensors file.
public struct OutputTensor {
    public enum DType: String { case f32 = "F32", f64 = "F64", i64 = "I64" }
    public let name: String
    public let dtype: DType
    public let shape: [Int]
    public let data: Data

    public init(name: String, dtype: DType, shape: [Int], data: Data) {
        self.name = name
        self.dtype = dtype
        self.shape = shape
        self.data = data
    }

    public static func float32(_ name: String, shape: [Int], _ values: [Float]) -> OutputTensor {
        OutputTensor(name: name, dtype: .f32, shape: shape,
                     data: values.withUnsafeBytes { Data($0) })
    }

    public static func float64(_ name: String, shape: [Int], _ values: [Double]) -> OutputTensor {
        OutputTensor(name: name, dtype: .f64, shape: shape,
                     data: values.withUnsafeBytes { Data($0) })
    }

    public static func int64(_ name: String, shape: [Int], _ values: [Int64]) -> OutputTensor {
        OutputTensor(name: name, dtype: .i64, shape: shape,
                     data: values.withUnsafeBytes { Data($0) })
    }
}

extension OutputTensor {
    /// Every tensor of a file saegeo wrote (a shard or a checkpoint block), read back whole.
    static func all(in file: SafetensorsFile) throws -> [OutputTensor] {
        try file.entries.map { entry in
            guard let dtype = DType(rawValue: entry.dtype) else {
                throw SaegeoError.badFile("\(file.file.path): tensor \(entry.name) has dtype \(entry.dtype), which saegeo does not write")
            }
            return OutputTensor(name: entry.name, dtype: dtype, shape: entry.shape, data: Data(file.file.bytes[entry.byteRange]))
        }
    }
}

/// Writes the safetensors format: an 8-byte little-endian header length, a JSON header naming
/// each tensor's dtype, shape and byte range, then the tensors' bytes back to back.
public enum SafetensorsWriter {
    /// Writes a file of its own, whole or not at all (a one-output job).
    public static func write(_ tensors: [OutputTensor], metadata: [String: String], to path: String) throws {
        try AtomicOutput.write(to: path) { try write(tensors, metadata: metadata, into: $0) }
    }

    /// Writes the file's bytes into a job's output.
    public static func write(_ tensors: [OutputTensor], metadata: [String: String], into handle: OutputSink) throws {
        var header = "{"
        var entries: [String] = []
        if !metadata.isEmpty {
            let pairs = metadata.keys.sorted().map { "\(jsonString($0)):\(jsonString(metadata[$0]!))" }
            entries.append("\"__metadata__\":{\(pairs.joined(separator: ","))}")
        }
        var offset = 0
        for tensor in tensors {
            let end = offset + tensor.data.count
            let shape = tensor.shape.map(String.init).joined(separator: ",")
            entries.append("\(jsonString(tensor.name)):{\"dtype\":\"\(tensor.dtype.rawValue)\",\"shape\":[\(shape)],\"data_offsets\":[\(offset),\(end)]}")
            offset = end
        }
        header += entries.joined(separator: ",") + "}"
        // Pad with spaces so the data starts 8-byte aligned, as the reference writer does.
        var headerBytes = Data(header.utf8)
        while headerBytes.count % 8 != 0 { headerBytes.append(0x20) }
        var length = UInt64(headerBytes.count).littleEndian
        try handle.write(contentsOf: Data(bytes: &length, count: 8))
        try handle.write(contentsOf: headerBytes)
        for tensor in tensors { try handle.write(contentsOf: tensor.data) }
    }

    static func jsonString(_ s: String) -> String { JSONValue.quoted(s) }
}
