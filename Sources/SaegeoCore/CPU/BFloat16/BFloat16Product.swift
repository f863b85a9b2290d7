import CBFloat16
import Foundation

/// The product of bfloat16 rows with float32 accumulation: C = A . B (or A . Bᵀ), A and B already
/// rounded (BFloat16.round). Two implementations of the same arithmetic:
/// - native: oneDNN's matmul on the bits (AVX512-BF16 or AMX kernels), loaded at run time;
/// - portable: cblas_sgemm on the rounded values held as floats. A product of two bfloat16 values
///   is exact in float, so this is the same computation with another summation order; the error
///   bound (BFloat16Bound) covers every order, so the certified results are the same.
/// Each operand is held in the form its implementation reads: bits or floats.
enum BFloat16Product: Sendable, Equatable {
    case native
    case portable

    /// Whether the native product runs here: a CPU that multiplies bfloat16 in hardware, and
    /// oneDNN loaded. Otherwise the reason.
    static let nativeAvailability: Result<String, SaegeoError> = {
        guard saegeo_bf16_cpu_native() == 1 else {
            return .failure(SaegeoError(.device, "this CPU has no bfloat16 instructions (AVX512-BF16 or AMX-BF16)"))
        }
        var why = [CChar](repeating: 0, count: 256)
        guard saegeo_dnnl_load(&why, why.count) == 1 else {
            return .failure(SaegeoError(.device, String(cString: why)))
        }
        // A small product names the kernel oneDNN picks (and proves the library works).
        var implementation = [CChar](repeating: 0, count: 128)
        let a = [UInt16](repeating: 0x3f80, count: 64 * 64)
        var c = [Float](repeating: 0, count: 64 * 64)
        let status = saegeo_bf16_gemm(1, 64, 64, 64, a, 64, a, 64, &c, 64, &implementation, implementation.count, &why, why.count)
        guard status == 0, c.allSatisfy({ $0 == 64 }) else {
            return .failure(SaegeoError(.device, status == 0 ? "oneDNN's bfloat16 product gave a wrong result" : String(cString: why)))
        }
        return .success("oneDNN \(String(cString: implementation))")
    }()

    /// The product the bfloat16 precision uses here: native where it runs, else portable.
    static var best: BFloat16Product {
        if case .success = nativeAvailability { return .native }
        return .portable
    }

    var summary: String {
        switch self {
        case .native: (try? Self.nativeAvailability.get()) ?? "oneDNN"
        case .portable: "portable bfloat16 product (OpenBLAS sgemm on rounded values)"
        }
    }

    /// Operands in this product's form: `count` values, or only their norms when the caller
    /// rounds into a buffer of its own.
    var holdsBits: Bool { self == .native }

    /// C[m, n] = A[m, k] . B[n, k]ᵀ (`transposedB`) or A . B[k, n], row-major. `a` and `b` point
    /// at bits (native) or rounded floats (portable), as `holdsBits` says. Native runs on oneDNN's
    /// threads; portable on OpenBLAS's current thread setting.
    func multiply(m: Int, n: Int, k: Int, a: UnsafeRawPointer, lda: Int, b: UnsafeRawPointer, ldb: Int,
                  c: UnsafeMutablePointer<Float>, ldc: Int, transposedB: Bool) throws {
        guard m > 0, n > 0 else { return }
        switch self {
        case .portable:
            CBLAS.multiply(m: m, n: n, k: k, a: a.assumingMemoryBound(to: Float.self), lda: lda,
                           b: b.assumingMemoryBound(to: Float.self), ldb: ldb, c: c, ldc: ldc, transposedB: transposedB)
        case .native:
            var why = [CChar](repeating: 0, count: 256)
            let status = saegeo_bf16_gemm(transposedB ? 1 : 0, m, n, k, a.assumingMemoryBound(to: UInt16.self), lda,
                                          b.assumingMemoryBound(to: UInt16.self), ldb, c, ldc, nil, 0, &why, why.count)
            guard status == 0 else { throw SaegeoError(.device, String(cString: why)) }
        }
    }

    /// B ([n, k] bits, rows `ldb` apart) packed once for the native product's bands of about `rows`
    /// rows (saegeo_bf16_pack says why); nil for the portable product, or when oneDNN cannot (the
    /// plain B is multiplied then, with the same sums).
    func packed(n: Int, k: Int, b: UnsafeRawPointer, ldb: Int, rows: Int) -> PackedOperand? {
        guard self == .native, n > 0, k > 0 else { return nil }
        return saegeo_bf16_pack(rows, n, k, b.assumingMemoryBound(to: UInt16.self), ldb, nil, 0).map(PackedOperand.init)
    }

    /// C[m, n] = A[m, k] . Bᵀ with B packed (`multiply`'s arithmetic).
    func multiply(m: Int, a: UnsafeRawPointer, lda: Int, packed: PackedOperand, c: UnsafeMutablePointer<Float>, ldc: Int) throws {
        guard m > 0 else { return }
        var why = [CChar](repeating: 0, count: 256)
        let status = saegeo_bf16_gemm_packed(m, a.assumingMemoryBound(to: UInt16.self), lda, packed.handle, c, ldc, &why, why.count)
        guard status == 0 else { throw SaegeoError(.device, String(cString: why)) }
    }
}

/// A B operand in oneDNN's own layout (saegeo_bf16_pack), freed with its owner.
final class PackedOperand {
    let handle: OpaquePointer

    init(_ handle: OpaquePointer) { self.handle = handle }

    deinit { saegeo_bf16_release(handle) }
}
