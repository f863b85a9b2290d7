import Foundation

/// Token rows as the encoder takes them: read, checked and centred on the host.
extension DatasetScorer {
    /// Rows as float32, b_dec subtracted and scaled as the encoder says. A row with a NaN or an
    /// infinity is refused, or with `skipNonFinite` made all NaN: no comparison with NaN holds, so
    /// it activates nothing on any device and the sample is scored as if the row were absent.
    func readRows(_ first: Int, _ count: Int) throws -> [Float] {
        let d = encoder.dimension
        var x = [Float](repeating: 0, count: max(1, count * d))
        try x.withUnsafeMutableBufferPointer { out in
            if !activations.rows.readFeatures(first..<(first + count), into: out.baseAddress!) {
                for r in 0..<count { activations.rows.copyFeature(first + r, into: out.baseAddress! + r * d) }
            }
            var skipped = 0
            for r in 0..<count {
                let row = out.baseAddress! + r * d
                if let column = (0..<d).first(where: { !row[$0].isFinite }) {
                    guard skipNonFinite else {
                        throw SaegeoError.badInput("\(activations.path): token row \(first + r) holds \(row[column]) at column \(column); fix the activations, or pass --skip-nonfinite to leave such rows out (they are counted)")
                    }
                    for i in 0..<d { row[i] = .nan }
                    skipped += 1
                    continue
                }
                if let b = encoder.decoderBias { for i in 0..<d { row[i] -= b[i] } }
                if encoder.inputScale != 1 { for i in 0..<d { row[i] *= encoder.inputScale } }
            }
            if skipped > 0 { skippedRows.withLock { $0 += skipped } }
        }
        return x
    }
}
