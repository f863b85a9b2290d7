import Foundation

/// Finite in: every value the encoder computes with is checked once, when the encoder is built,
/// and a NaN or an infinity is refused with the tensor's name and index. Left in, one of them
/// spreads through every sum it meets (an inf in W_enc makes every sample's score NaN), or hides
/// (a NaN threshold or bias makes its feature never fire, and every score quietly changes).
enum FiniteTensors {
    /// `values` (a tensor read row-major with `floatValues()`) must all be finite.
    static func require(_ values: [Float], of tensor: StoredTensor, in path: String) throws {
        guard let i = values.firstIndex(where: { !$0.isFinite }) else { return }
        throw nonFinite(values[i], tensor: tensor.name, index: unravel(i, shape: tensor.shape), in: path)
    }

    /// The norm (float64) of every feature of a weight matrix, each also its finiteness check: a
    /// norm is finite exactly when every entry of its row is (a float32 squared cannot overflow a
    /// double), so one pass both checks W_enc and gives the gains the overflow bound needs
    /// (EncoderRange). Read on all cores straight from the mapping; rows layout one feature
    /// at a time, columns layout ([d_model, d_sae] files) in blocks of features, one contiguous
    /// segment per dimension, so the matrix is streamed once either way.
    static func featureNorms(_ matrix: FeatureMatrix, tensor: StoredTensor, featureAxis: Int, in path: String) throws -> [Double] {
        let features = matrix.features, d = matrix.dimension
        var norms = [Double](repeating: 0, count: features)
        norms.withUnsafeMutableBufferPointer { out in
            let base = UnsafeSendablePointer(out.baseAddress!)
            switch matrix.layout {
            case .rows:
                // A large encoder in chunks whose pages are dropped afterwards (a pass over one larger
                // than memory must not leave it resident); a smaller one stays, since the CPU engine
                // multiplies it straight from the mapping next.
                let chunk = matrix.byteCount > Self.residentLimit ? max(1, (64 << 20) / (d * matrix.scalarType.byteSize)) : features
                for start in stride(from: 0, to: features, by: chunk) {
                    let end = min(features, start + chunk)
                    parallelChunks(end - start) { range in
                        let row = UnsafeMutablePointer<Float>.allocate(capacity: d)
                        defer { row.deallocate() }
                        for f in (start + range.lowerBound)..<(start + range.upperBound) {
                            base.pointer[f] = matrix.withFeatureInPlace(f, scratch: row) { Exact.norm($0, count: d) }
                        }
                    }
                    if chunk < features { matrix.releasePages(ofFeatures: start..<end) }
                }
            case .columns:
                let block = 512, blocks = (features + block - 1) / block
                let size = matrix.scalarType.byteSize, start = matrix.byteOffset
                DispatchQueue.concurrentPerform(iterations: blocks) { b in
                    let f0 = b * block, width = min(block, features - f0)
                    let segment = UnsafeMutablePointer<Float>.allocate(capacity: width)
                    let squares = UnsafeMutablePointer<Double>.allocate(capacity: width)
                    squares.initialize(repeating: 0, count: width)
                    defer { segment.deallocate(); squares.deallocate() }
                    for i in 0..<d {
                        matrix.scalarType.load(matrix.file.bytes.baseAddress! + start + (i * features + f0) * size,
                                               count: width, stride: 1, into: segment)
                        for j in 0..<width { squares[j] += Double(segment[j]) * Double(segment[j]) }
                    }
                    for j in 0..<width { base.pointer[f0 + j] = squares[j].squareRoot() }
                }
                if matrix.byteCount > Self.residentLimit { matrix.releaseAllPages() }
            }
        }
        guard let f = norms.firstIndex(where: { !$0.isFinite }) else { return norms }
        var row = [Float](repeating: 0, count: 2 * d)
        row.withUnsafeMutableBufferPointer { matrix.copyFeature(f, into: $0.baseAddress!) }
        let i = row.prefix(d).firstIndex { !$0.isFinite } ?? 0
        throw nonFinite(row[i], tensor: tensor.name, index: featureAxis == 0 ? [f, i] : [i, f], in: path)
    }

    /// Encoders up to this size stay resident after the scan.
    static let residentLimit = 1 << 30

    static func nonFinite(_ value: Float, tensor: String, index: [Int], in path: String) -> SaegeoError {
        SaegeoError.badFile("\(path): tensor '\(tensor)' holds \(value) at [\(index.map(String.init).joined(separator: ", "))]; every value the encoder uses must be finite (it would make scores NaN or silently turn features off); fix or re-export the checkpoint")
    }

    /// A row-major flat index as one index per axis.
    static func unravel(_ flat: Int, shape: [Int]) -> [Int] {
        guard !shape.isEmpty else { return [flat] }
        var rest = flat, index = [Int](repeating: 0, count: shape.count)
        for axis in shape.indices.reversed() where shape[axis] > 0 {
            index[axis] = rest % shape[axis]
            rest /= shape[axis]
        }
        return index
    }
}
