/// The backends saegeo registers, in the order devices are listed and `auto` falls back: OpenCL
/// first, the CPU last. A new backend (CUDA, Metal) is its own folder and one line here.
extension DeviceCatalog {
    /// The standard catalog.
    /// - Parameters:
    ///   - openCL: the developer knobs of the CLI's environment.
    ///   - maxAllocationBytes: every backend's largest allocation lowered to this, so that the
    ///     planner cuts small tiles (tests); nil keeps each device's own.
    ///   - precision: the products' arithmetic (`--precision`); only the CPU has a bfloat16 path,
    ///     so OpenCL devices compute in float32 whatever is asked.
    ///   - spec: the `--device` list the catalog is for, when known: one that cannot name an
    ///     OpenCL device (`cpu`) leaves the OpenCL platforms unloaded (OpenCLBackend's init).
    public static func standard(openCL: OpenCLBackend.Settings = .init(), maxAllocationBytes: Int? = nil,
                                precision: ComputePrecision = .float32, for spec: String? = nil) throws -> DeviceCatalog {
        var openCL = openCL
        if let maxAllocationBytes {
            openCL.overrides.maxAllocationBytes = min(openCL.overrides.maxAllocationBytes ?? .max, maxAllocationBytes)
        }
        let cpu = CPUBackend(maxAllocationBytes: maxAllocationBytes, precision: precision)
        // A list of the CPU alone names no OpenCL device; `auto`, any `opencl` form and anything
        // unknown (whose error lists every device) may.
        let cpuAlone = spec.map { $0.split(separator: ",").allSatisfy { $0.trimmingCharacters(in: .whitespaces) == cpu.family } }
        return DeviceCatalog(backends: [
            try OpenCLBackend(settings: openCL, discoverNow: !(cpuAlone ?? false)),
            cpu,
        ])
    }
}
