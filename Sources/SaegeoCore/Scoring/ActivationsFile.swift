import Foundation

/// The residual-stream activations of a dataset: a [rows, d_model] matrix (F32/F16/BF16) from a
/// .safetensors tensor (`activations` unless named) or a .npy, and how rows group into samples:
/// every row its own sample, or runs of token rows given by an I64 offsets tensor [N + 1].
public struct ActivationsFile: Sendable {
    public let path: String
    /// Rows as a feature matrix: "features" are the rows, read with pread in chunks.
    public let rows: FeatureMatrix
    /// Sample i is rows sampleStarts[i]..<sampleStarts[i + 1].
    public let sampleStarts: [Int]

    public var samples: Int { sampleStarts.count - 1 }

    public static func open(_ path: String, tensor: String?, offsets: String?) throws -> ActivationsFile {
        let lower = path.lowercased()
        let matrix: StoredTensor
        var offsetsTensor: StoredTensor?
        if lower.hasSuffix(".npy") {
            guard offsets == nil else {
                throw SaegeoError.badInput("--offsets needs a .safetensors file holding both the activations and the offsets")
            }
            matrix = try NpyFile(path: path).tensor
        } else if lower.hasSuffix(".safetensors") {
            let file = try SafetensorsFile(path: path)
            let name = tensor ?? "activations"
            guard let t = file.tensor(name) else {
                throw SaegeoError.badInput("\(path) has no tensor '\(name)'; name the activations with --activations-tensor (it has \(file.entries.map(\.name).prefix(8).joined(separator: ", ")))")
            }
            matrix = t
            if let offsets {
                guard let o = file.tensor(offsets) else {
                    throw SaegeoError.badInput("\(path) has no tensor '\(offsets)' for --offsets")
                }
                offsetsTensor = o
            }
        } else {
            throw SaegeoError.badInput("cannot tell the format of \(path); activations come as .safetensors or .npy")
        }
        guard matrix.shape.count == 2, matrix.scalarType != nil else {
            throw SaegeoError.badInput("\(path): activations '\(matrix.name)' must be a [rows, d_model] matrix of F32, F16 or BF16 (found \(matrix.dtype) \(matrix.shape))")
        }
        let rows = matrix.shape[0]
        let featureMatrix = try matrix.featureMatrix(featureAxis: 0)
        var starts = Array(0...rows)
        if let offsetsTensor {
            guard offsetsTensor.dtype == "I64", offsetsTensor.shape.count == 1, offsetsTensor.shape[0] >= 1 else {
                throw SaegeoError.badInput("\(path): offsets '\(offsetsTensor.name)' must be I64 [N + 1] (found \(offsetsTensor.dtype) \(offsetsTensor.shape))")
            }
            let (file, offset) = try offsetsTensor.mapped()
            let values = (0..<offsetsTensor.shape[0]).map {
                Int((file.bytes.baseAddress! + offset + 8 * $0).loadUnaligned(as: Int64.self))
            }
            guard values.first == 0, values.last == rows, zip(values, values.dropFirst()).allSatisfy({ $0 <= $1 }) else {
                throw SaegeoError.badInput("\(path): offsets must start at 0, never decrease and end at the \(rows) rows")
            }
            starts = values
        }
        return ActivationsFile(path: path, rows: featureMatrix, sampleStarts: starts)
    }
}
