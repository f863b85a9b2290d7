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
        return DeviceCatalog(backends: [
            try OpenCLBackend(settings: openCL, discoverNow: spec.map(mayNameOpenCL) ?? true),
            CPUBackend(maxAllocationBytes: maxAllocationBytes, precision: precision),
        ])
    }

    /// Whether a device list may name an OpenCL device: `auto` (GPUs first) or any `opencl` form;
    /// anything unknown too, so that its error lists every device.
    static func mayNameOpenCL(_ spec: String) -> Bool {
        spec.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.contains { $0 != "cpu" }
    }
}
