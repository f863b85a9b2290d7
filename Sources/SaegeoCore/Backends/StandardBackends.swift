/// The backends saegeo registers, in the order devices are listed and `auto` falls back: OpenCL
/// first, the CPU last.
extension DeviceCatalog {
    /// The standard catalog; the OpenCL settings are the developer knobs of the CLI's environment.
    public init(overrides: LimitOverrides = .init(), variant: KernelConfiguration.Variant? = nil,
                tuning: TuningCache? = nil) throws {
        self.init(backends: [try OpenCLBackend(overrides: overrides, variant: variant, tuning: tuning), CPUBackend()])
    }

    /// The OpenCL devices of the catalog.
    public var openCLDevices: [OpenCLDevice] {
        backends.compactMap { $0 as? OpenCLBackend }.flatMap(\.openCLDevices)
    }

    /// An engine for a device id with its own OpenCL settings (tests and bench vary them per engine).
    public func engine(for id: String, overrides: LimitOverrides, variant: KernelConfiguration.Variant? = nil,
                       tuning: TuningCache? = nil) throws -> ComputeEngine {
        try DeviceCatalog(overrides: overrides, variant: variant, tuning: tuning).engine(for: id)
    }
}
