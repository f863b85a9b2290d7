import Foundation

/// Token rows as the encoder takes them: read, checked and centred on the host.
extension DatasetScorer {
    /// Rows as float32, normalised, scaled and b_dec subtracted as the encoder says. A row with a NaN or an
    /// infinity is refused, or with `skipNonFinite` made all NaN: no comparison with NaN holds, so
    /// it activates nothing on any device and the sample is scored as if the row were absent.
    func readRows(_ first: Int, _ count: Int) throws -> [Float] {
        let d = encoder.dimension, matrix = activations.rows
        let bias = encoder.decoderBias, scale = encoder.inputScale, normalization = encoder.rowNormalization
        var x = [Float](unsafeUninitializedCapacity: max(1, count * d)) { buffer, initialized in
            buffer[0] = 0
            initialized = max(1, count * d)
        }
        // Rows the cores found holding a NaN or an infinity (one flag per row, written by its core).
        var nonFinite = [Bool](repeating: false, count: count)
        x.withUnsafeMutableBufferPointer { out in
            nonFinite.withUnsafeMutableBufferPointer { flags in
                let base = UnsafeSendablePointer(out.baseAddress!), flagBase = UnsafeSendablePointer(flags.baseAddress!)
                parallelChunks(count) { range in
                    // Each core reads its own rows (one pread: a copy in the kernel on this core).
                    let wasRead = matrix.readFeatures((first + range.lowerBound)..<(first + range.upperBound),
                                                      into: base.pointer + range.lowerBound * d)
                    for r in range {
                        let row = base.pointer + r * d
                        if !wasRead { matrix.copyFeature(first + r, into: row) }
                        // x - x is 0 for every finite x and NaN otherwise: one pass that vectorises.
                        var probe: Float = 0
                        for i in 0..<d { probe += row[i] - row[i] }
                        guard probe == 0 else { flagBase.pointer[r] = true; continue }
                        // Normalised and scaled first, then centred (SAELens, lm_saes, OpenAI).
                        normalization.apply(row, count: d)
                        if scale != 1 { for i in 0..<d { row[i] *= scale } }
                        if let bias { for i in 0..<d { row[i] -= bias[i] } }
                    }
                }
            }
        }
        guard let firstBad = nonFinite.firstIndex(of: true) else { return x }
        guard skipNonFinite else {
            let column = (0..<d).first { !x[firstBad * d + $0].isFinite }!
            throw SaegeoError.badInput("\(activations.path): token row \(first + firstBad) holds \(x[firstBad * d + column]) at column \(column); fix the activations, or pass --skip-nonfinite to leave such rows out (they are counted)")
        }
        var skipped = 0
        for r in 0..<count where nonFinite[r] {
            for i in 0..<d { x[r * d + i] = .nan }
            skipped += 1
        }
        skippedRows.withLock { $0 += skipped }
        return x
    }
}
