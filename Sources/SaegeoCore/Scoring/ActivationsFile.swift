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
    /// An I64 vector the file holds beside the activations that offsets were not read from: when
    /// samples were not grouped (no offsets option), it is most likely the grouping forgotten, and
    /// every token row would be scored as a sample of its own without a word.
    public var unusedOffsets: String? = nil

    /// The one-line warning for `unusedOffsets`, naming the option that would use it.
    public func unusedOffsetsWarning(option: String) -> String? {
        guard let name = unusedOffsets else { return nil }
        return "warning: \(path) holds an I64 tensor '\(name)' but \(option) was not given, so each of its \(rows.features) token rows is a sample of its own; pass \(option) \(name) if it groups the rows into samples"
    }

    public static func open(_ path: String, tensor: String?, offsets: String?) throws -> ActivationsFile {
        let lower = path.lowercased()
        let matrix: StoredTensor
        var offsetsTensor: StoredTensor?
        var unused: String? = nil
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
            } else {
                // Offsets by name first (what saegeo's own files and the README use), else any
                // other I64 vector: activations are floats, so an integer vector is a grouping.
                let vectors = file.tensors.filter { $0.name != name && $0.dtype == "I64" && $0.shape.count == 1 }
                unused = (vectors.first { $0.name == "offsets" } ?? vectors.first)?.name
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
        var opened = ActivationsFile(path: path, rows: featureMatrix, sampleStarts: starts)
        opened.unusedOffsets = unused
        return opened
    }
}
