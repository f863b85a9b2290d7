import CMicrokernels
import Foundation

/// OpenBLAS (Debian's DYNAMIC_ARCH build) picks its kernels when the library loads, from the CPU's
/// model number. On machines that hide the model (many VMs) it falls back to generic SSE3
/// kernels ("Prescott"), measured 3.2-3.5x slower than "SkylakeX" on an AVX-512 CPU. The choice
/// can only be made through OPENBLAS_CORETYPE before the library loads, so the CLI asks here
/// whether to run itself again with it set.
public enum BLASCoreChoice {
    /// Cores OpenBLAS falls back to that predate AVX2.
    static let generic: Set<String> = ["Prescott", "Core2", "Penryn", "Dunnington", "Nehalem", "Atom", "Katmai",
                                       "Coppermine", "Northwood", "Banias", "Sandybridge"]

    /// The core type to ask for, when OpenBLAS chose a generic one this CPU can do better than
    /// and the user has not chosen (OPENBLAS_CORETYPE unset).
    public static func betterCore(environment: [String: String] = ProcessInfo.processInfo.environment) -> String? {
        guard environment["OPENBLAS_CORETYPE"] == nil, generic.contains(CBLAS.coreName),
              let better = saegeo_blas_core_for_cpu() else { return nil }
        return String(cString: better)
    }
}
