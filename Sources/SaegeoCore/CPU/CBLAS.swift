import COpenBLAS

/// The one place saegeo calls OpenBLAS.
enum CBLAS {
    /// C[m, n] = A[m, k] * B[n, k]^T, all row-major with leading dimensions lda, ldb, ldc.
    static func multiplyTransposed(m: Int, n: Int, k: Int,
                                   a: UnsafePointer<Float>, lda: Int,
                                   b: UnsafePointer<Float>, ldb: Int,
                                   c: UnsafeMutablePointer<Float>, ldc: Int) {
        multiply(m: m, n: n, k: k, a: a, lda: lda, b: b, ldb: ldb, c: c, ldc: ldc, transposedB: true)
    }

    /// C[m, n] = A[m, k] * B[k, n] (or B[n, k]^T when `transposedB`), all row-major with leading
    /// dimensions lda, ldb, ldc.
    static func multiply(m: Int, n: Int, k: Int,
                         a: UnsafePointer<Float>, lda: Int,
                         b: UnsafePointer<Float>, ldb: Int,
                         c: UnsafeMutablePointer<Float>, ldc: Int, transposedB: Bool) {
        guard m > 0, n > 0 else { return }
        cblas_sgemm(CblasRowMajor, CblasNoTrans, transposedB ? CblasTrans : CblasNoTrans,
                    blasint(m), blasint(n), blasint(k),
                    1.0, a, blasint(lda), b, blasint(ldb),
                    0.0, c, blasint(ldc))
    }

    /// The upper triangle of C[n, n] = A[n, k] * A^T: half the arithmetic of the full product.
    static func upperGram(n: Int, k: Int, a: UnsafePointer<Float>, lda: Int, c: UnsafeMutablePointer<Float>, ldc: Int) {
        guard n > 0 else { return }
        cblas_ssyrk(CblasRowMajor, CblasUpper, CblasNoTrans, blasint(n), blasint(k), 1.0, a, blasint(lda), 0.0, c, blasint(ldc))
    }

    /// OpenBLAS's own thread count. The engine runs one single-threaded product per core itself,
    /// each followed by its rows' selection, instead of letting OpenBLAS's threads spin between calls.
    static func setThreads(_ n: Int) { openblas_set_num_threads(Int32(n)) }

    static var configuration: String {
        guard let text = openblas_get_config() else { return "OpenBLAS" }
        return String(cString: text)
    }

    static var coreName: String {
        guard let text = openblas_get_corename() else { return "cpu" }
        return String(cString: text)
    }
}
