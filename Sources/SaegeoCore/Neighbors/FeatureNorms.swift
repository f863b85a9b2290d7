import Foundation

/// Float64 norms of decoder directions, computed once per feature in one fixed order, and the
/// host-side preparation of unit float32 tiles for the engines.
public struct FeatureNorms: Sendable {
    /// Indexed by feature id; 0 for a dead feature (norm 0 or not finite) and for features not asked for.
    public let norms: [Double]

    /// Norms of the given features, computed in parallel.
    public init(of dictionary: FeatureMatrix, features: [Int]) {
        var norms = [Double](repeating: 0, count: dictionary.features)
        let d = dictionary.dimension
        let unique = Array(Set(features)).sorted()
        // In chunks, dropping each chunk's pages afterwards: a pass over a dictionary larger than
        // memory must not leave it resident.
        let chunk = max(1, (64 << 20) / max(1, d * dictionary.scalarType.byteSize))
        norms.withUnsafeMutableBufferPointer { out in
            let base = UnsafeSendablePointer(out.baseAddress!)
            for start in stride(from: 0, to: unique.count, by: chunk) {
                let ids = unique[start..<min(unique.count, start + chunk)]
                // Float32 rows are read where they are mapped, on every core (a pread of the whole
                // chunk is one core copying in the kernel, slower than the norms themselves);
                // other types are converted row by row. The chunk's pages are dropped afterwards.
                parallelChunks(ids.count) { range in
                    let row = UnsafeMutablePointer<Float>.allocate(capacity: d)
                    defer { row.deallocate() }
                    for index in range {
                        let id = ids[ids.startIndex + index]
                        let norm = dictionary.withFeatureInPlace(id, scratch: row) { Exact.norm($0, count: d) }
                        base.pointer[id] = norm.isFinite && norm > 0 ? norm : 0
                    }
                }
                dictionary.releasePages(ofFeatures: ids.first!..<(ids.last! + 1))
            }
        }
        self.norms = norms
    }

    public func isLive(_ id: Int) -> Bool { norms[id] > 0 }

    /// The given features as unit float32 rows, padded to the engine's layout. The values are
    /// written into `storage` (taken and grown as needed), so that streaming many tiles reuses one
    /// buffer instead of faulting in fresh pages for each; hand it back with `storage = rows.values`.
    func unitRows(_ ids: ArraySlice<Int32>, of dictionary: FeatureMatrix, layout: TileLayout,
                  reusing storage: inout [Float]) -> UnitRows {
        let d = dictionary.dimension
        let stride = roundUp(d, to: layout.dimensionAlignment)
        let capacity = roundUp(max(ids.count, 1), to: layout.rowAlignment)
        var values: [Float] = []
        swap(&values, &storage)
        if values.count < capacity * stride {
            // Not zeroed here: the cores below write every value, rows and padding, so that a
            // large tile's pages are first touched on all of them (zeroing 150 MB on one core
            // took 0.1 s of an all-pairs run).
            values = [Float](unsafeUninitializedCapacity: capacity * stride) { _, count in count = capacity * stride }
        }
        let idArray = Array(ids)
        // Consecutive float32 rows without padding arrive in one read per core (a read is a copy
        // in the kernel, on the core that asked), without mapping the file.
        let consecutive = stride == d && idArray.count > 0 && Int(idArray.last!) - Int(idArray[0]) + 1 == idArray.count
            && zip(idArray, idArray.dropFirst()).allSatisfy { $0 + 1 == $1 }
        values.withUnsafeMutableBufferPointer { out in
            let base = UnsafeSendablePointer(out.baseAddress!)
            parallelChunks(idArray.count) { range in
                let first = consecutive ? Int(idArray[0]) : 0
                let wasRead = consecutive
                    && dictionary.readFeatures((first + range.lowerBound)..<(first + range.upperBound),
                                               into: base.pointer + range.lowerBound * stride)
                for row in range {
                    let id = Int(idArray[row])
                    let target = base.pointer + row * stride
                    if !wasRead { dictionary.copyFeature(id, into: target) }
                    // One float32 multiply by the rounded reciprocal: each unit entry is within
                    // 2 * 2^-24 relative of the exact one (ExactRanking.errorBound counts it).
                    let scale = Float(1 / norms[id])
                    for i in 0..<d { target[i] *= scale }
                    // Padding columns are zero (earlier tiles may have left values there).
                    (target + d).update(repeating: 0, count: stride - d)
                }
            }
            // So are padding rows.
            (base.pointer + idArray.count * stride).update(repeating: 0, count: (capacity - idArray.count) * stride)
        }
        return UnitRows(ids: idArray, capacity: capacity, stride: stride, values: values)
    }

    func unitRows(_ ids: ArraySlice<Int32>, of dictionary: FeatureMatrix, layout: TileLayout) -> UnitRows {
        var storage: [Float] = []
        return unitRows(ids, of: dictionary, layout: layout, reusing: &storage)
    }
}

/// Float64 arithmetic in one fixed order, shared by every path that produces reported numbers.
enum Exact {
    /// sqrt(sum x_i^2), four interleaved accumulators combined as (a0 + a1) + (a2 + a3).
    static func norm(_ x: UnsafePointer<Float>, count: Int) -> Double {
        var acc = SIMD4<Double>()
        var i = 0
        let xv = UnsafeRawPointer(x)
        while i + 4 <= count {
            let v = SIMD4<Double>(xv.loadUnaligned(fromByteOffset: i * 4, as: SIMD4<Float>.self))
            acc += v * v
            i += 4
        }
        var a0 = acc[0]
        while i < count { let v = Double(x[i]); a0 += v * v; i += 1 }
        return ((a0 + acc[1]) + (acc[2] + acc[3])).squareRoot()
    }

    /// sum x_i y_i with x already in float64, in the same fixed order as `norm`: lane j of the
    /// vector accumulator is a_j above (SIMD only makes the four chains explicit to the compiler;
    /// Swift never fuses or reorders them, so the result is the same on every machine).
    static func dot(_ x: UnsafePointer<Double>, _ y: UnsafePointer<Float>, count: Int) -> Double {
        var acc = SIMD4<Double>()
        var i = 0
        let xv = UnsafeRawPointer(x), yv = UnsafeRawPointer(y)
        while i + 4 <= count {
            let a = xv.loadUnaligned(fromByteOffset: i * 8, as: SIMD4<Double>.self)
            let b = SIMD4<Double>(yv.loadUnaligned(fromByteOffset: i * 4, as: SIMD4<Float>.self))
            acc += a * b
            i += 4
        }
        var a0 = acc[0]
        while i < count { a0 += x[i] * Double(y[i]); i += 1 }
        return (a0 + acc[1]) + (acc[2] + acc[3])
    }
}
