/// The element types saegeo reads from checkpoint and activation files.
public enum ScalarType: String, Sendable, CaseIterable {
    case f32 = "F32"
    case f16 = "F16"
    case bf16 = "BF16"

    public var byteSize: Int {
        switch self {
        case .f32: 4
        case .f16, .bf16: 2
        }
    }

    /// Converts `count` stored elements, `stride` elements apart, to float32.
    @inline(__always)
    func load(_ base: UnsafeRawPointer, count: Int, stride: Int, into out: UnsafeMutablePointer<Float>) {
        switch self {
        case .f32:
            let p = base.assumingMemoryBound(to: Float.self)
            if stride == 1 {
                out.update(from: p, count: count)
            } else {
                for i in 0..<count { out[i] = p[i * stride] }
            }
        case .f16:
            let p = base.assumingMemoryBound(to: UInt16.self)
            for i in 0..<count { out[i] = Float(Float16(bitPattern: p[i * stride])) }
        case .bf16:
            // bfloat16 is the upper half of a float32.
            let p = base.assumingMemoryBound(to: UInt16.self)
            for i in 0..<count { out[i] = Float(bitPattern: UInt32(p[i * stride]) << 16) }
        }
    }
}
