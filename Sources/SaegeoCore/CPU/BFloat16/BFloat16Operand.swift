import Foundation

/// A float32 matrix rounded to bfloat16 once (a chunk's activation rows per setActivations, an
/// encoder tile per tile), held in the form its product reads (bits for the native product,
/// rounded floats for the portable one: BFloat16Product.holdsBits), with the norms of each of its
/// vectors that the bound needs (BFloat16.RowNorms).
final class BFloat16Operand: @unchecked Sendable {  // because it is written only before it is shared (init, `mapping`), then read
    private(set) var bits: [UInt16] = []
    private(set) var floats: [Float] = []
    /// One per vector: per row of a chunk, per feature of a tile.
    private(set) var norms: [BFloat16.RowNorms]
    /// What the operand was rounded from, to keep a whole-dictionary tile for the whole run: the
    /// mapped file is held, so that no other file can be mapped at the same address meanwhile.
    /// (A mapped [d_model, d_sae] tile is rounded from its transposed copy: `source` is then the
    /// mapping's pointer, not the copy's.)
    var source: UnsafePointer<Float>
    var mapping: MappedFile?
    let vectors: Int

    /// `count` vectors of `dimension` values, one per row of a row-major [count, dimension] matrix.
    init(rows source: UnsafePointer<Float>, count: Int, dimension d: Int, product: BFloat16Product) {
        self.source = source
        vectors = count
        norms = [BFloat16.RowNorms](repeating: .zero, count: count)
        allocate(count * d, product: product)
        let input = UnsafeSendablePointer(source)
        withOutputs { bitsOut, floatsOut, normsOut in
            parallelChunks(count) { range in
                for r in range {
                    normsOut.pointer[r] = BFloat16.round(input.pointer + r * d, count: d, bits: bitsOut.map { $0.pointer + r * d },
                                                         rounded: floatsOut.map { $0.pointer + r * d })
                }
            }
        }
    }

    /// The `width` columns of a row-major [dimension, width] matrix (W_enc stored as [d_model,
    /// d_sae]), rounded in the same layout; each column's norms summed down the rows in double.
    init(columns source: UnsafePointer<Float>, width: Int, dimension d: Int, product: BFloat16Product) {
        self.source = source
        vectors = width
        norms = [BFloat16.RowNorms](repeating: .zero, count: width)
        allocate(width * d, product: product)
        let input = UnsafeSendablePointer(source)
        withOutputs { bitsOut, floatsOut, normsOut in
            parallelChunks(width) { columns in
                let count = columns.count
                var squares = [Double](repeating: 0, count: 2 * count), line = [Float](repeating: 0, count: count)
                for i in 0..<d {
                    let offset = i * width + columns.lowerBound, x = input.pointer + offset
                    line.withUnsafeMutableBufferPointer { rounded in
                        BFloat16.round(x, count: count, bits: bitsOut.map { $0.pointer + offset }, rounded: rounded.baseAddress!)
                        floatsOut?.pointer.advanced(by: offset).update(from: rounded.baseAddress!, count: count)
                        for j in 0..<count {
                            let r = rounded[j], error = x[j] - r  // exact in float
                            squares[2 * j] += Double(r) * Double(r)
                            squares[2 * j + 1] += Double(error) * Double(error)
                        }
                    }
                }
                for j in 0..<count {
                    normsOut.pointer[columns.lowerBound + j] = BFloat16.RowNorms(rounded: squares[2 * j].squareRoot(),
                                                                                  error: squares[2 * j + 1].squareRoot())
                }
            }
        }
    }

    /// Room for `count` rounded values in the form `product` reads.
    private func allocate(_ count: Int, product: BFloat16Product) {
        if product.holdsBits { bits = [UInt16](repeating: 0, count: max(1, count)) } else { floats = [Float](repeating: 0, count: max(1, count)) }
    }

    /// The outputs as pointers the cores write at disjoint places: bits or rounded floats (the
    /// other nil), and the norms.
    private func withOutputs(_ body: (UnsafeSendablePointer<UInt16>?, UnsafeSendablePointer<Float>?, UnsafeSendablePointer<BFloat16.RowNorms>) -> Void) {
        bits.withUnsafeMutableBufferPointer { b in
            floats.withUnsafeMutableBufferPointer { f in
                norms.withUnsafeMutableBufferPointer { n in
                    // An empty array's base address may be the shared empty storage: never written.
                    body(b.isEmpty ? nil : UnsafeSendablePointer(b.baseAddress!), f.isEmpty ? nil : UnsafeSendablePointer(f.baseAddress!),
                         UnsafeSendablePointer(n.baseAddress!))
                }
            }
        }
    }

    /// The rounded values where the product reads them.
    func withValues<R>(_ body: (UnsafeRawPointer) throws -> R) rethrows -> R {
        if !bits.isEmpty { return try bits.withUnsafeBufferPointer { try body(UnsafeRawPointer($0.baseAddress!)) } }
        return try floats.withUnsafeBufferPointer { try body(UnsafeRawPointer($0.baseAddress!)) }
    }

    /// Bytes one rounded value takes in `product`'s form (the planner counts them).
    static func valueBytes(_ product: BFloat16Product?) -> Int {
        guard let product else { return 0 }
        return product.holdsBits ? 2 : 4
    }
}
