extension BackendKind {
    /// The devices of OpenCLBackend.
    public static let opencl = BackendKind(rawValue: "opencl")
}

/// The OpenCL devices, as `opencl:0`, `opencl:1`, ... (platforms, then devices, in the ICD
/// loader's order). Devices are listed once per process, and each device's resources (context,
/// queues, programs) are made once and shared by every engine on it.
public struct OpenCLBackend: DeviceBackend {
    /// How the backend configures its engines: the developer knobs of the CLI's environment.
    public struct Settings: Sendable {
        /// Limits to impose below each device's own (GPU-like limits on PoCL in tests).
        public var overrides: LimitOverrides
        /// Force a kernel variant; by default GPUs stage tiles in local memory, CPUs do not.
        public var variant: KernelConfiguration.Variant?
        /// The cache of `saegeo tune`; its configuration for a device is used unless a variant is
        /// forced, and `tune` stores into it (the standard cache when nil).
        public var tuning: TuningCache?

        public init(overrides: LimitOverrides = .init(), variant: KernelConfiguration.Variant? = nil,
                    tuning: TuningCache? = nil) {
            self.overrides = overrides
            self.variant = variant
            self.tuning = tuning
        }
    }

    public let family = "opencl"
    public let displayName = "OpenCL"
    public let hasNumberedDevices = true
    public let settings: Settings

    /// Lists the devices now (and fails if they cannot be listed) unless `discoverNow` is false:
    /// then only when first asked, because listing loads every OpenCL platform (PoCL brings LLVM:
    /// about 60 MiB resident and 70 ms), which a job on the CPU alone does not need.
    public init(settings: Settings = .init(), discoverNow: Bool = true) throws {
        self.settings = settings
        if discoverNow { _ = try Self.discovered() }
    }

    /// The devices, listed once per process.
    public var openCLDevices: [OpenCLDevice] {
        get throws { try Self.discovered() }
    }

    /// None where they cannot be listed (a backend made with `discoverNow` false; otherwise
    /// its init has said why).
    public var devices: [DeviceDescription] {
        ((try? openCLDevices) ?? []).map { OpenCLEngineSetup.describe($0, limits: $0.limits.lowered(to: settings.overrides)) }
    }

    public func capabilities(for id: String) throws -> DeviceCapabilities {
        try setup(for: try device(id)).capabilities
    }

    public func engine(for id: String) throws -> ComputeEngine {
        try OpenCLEngine(resources: try resources(for: id), overrides: settings.overrides, variant: settings.variant,
                         tuning: settings.tuning)
    }

    public func probes(for id: String, secondsPerProbe: Double, runs: Int) throws -> DeviceProbes? {
        try OpenCLProbes(resources: try resources(for: id), configuration: try setup(for: try device(id)).kernels,
                         secondsPerProbe: secondsPerProbe, runs: runs)
    }

    public var hasTuner: Bool { true }

    public func tuner(for id: String, quick: Bool) throws -> DeviceTuner? {
        OpenCLTuner(device: try device(id), quick: quick, cache: settings.tuning ?? .standard())
    }

    /// A GPU's usual limits (48 KiB of local memory, 256 work-items) and the kernels the engine
    /// would choose for them.
    public func assumedGPU(maxAllocationBytes: Int) -> DeviceCapabilities? {
        let typical = LimitOverrides.typicalGPU
        let limits = DeviceLimits(globalMemoryBytes: .max, maxAllocationBytes: maxAllocationBytes,
                                  localMemoryBytes: typical.localMemoryBytes!, maxWorkGroupSize: typical.maxWorkGroupSize!)
        guard let kernels = try? KernelConfiguration.choose(for: limits, kind: .gpu) else { return nil }
        return OpenCLEngine.capabilities(layout: TileLayout(rowAlignment: kernels.rowAlignment, dimensionAlignment: kernels.sliceOfD,
                                                            maxAllocationBytes: maxAllocationBytes))
    }

    /// What an engine of these settings runs with on a device.
    func setup(for device: OpenCLDevice) throws -> OpenCLEngineSetup {
        try OpenCLEngineSetup(device: device, overrides: settings.overrides, variant: settings.variant, tuning: settings.tuning)
    }

    private func device(_ id: String) throws -> OpenCLDevice {
        guard let device = try openCLDevices.first(where: { $0.id == id }) else {
            throw SaegeoError.badInput("unknown OpenCL device '\(id)'; run 'saegeo devices' to list them")
        }
        return device
    }

    /// The one set of resources of a device in this process.
    func resources(for id: String) throws -> OpenCLDeviceResources {
        try OpenCLDeviceResources.shared(for: try device(id))
    }

    private static let listed = Locked<[OpenCLDevice]?>(nil)

    private static func discovered() throws -> [OpenCLDevice] {
        try listed.withLock { list in
            if let list { return list }
            do {
                let found = try OpenCLDevice.all()
                list = found
                return found
            } catch let error as SaegeoError {
                throw SaegeoError.device("cannot list OpenCL devices: \(error.message); check the OpenCL ICD installation (clinfo)")
            }
        }
    }
}
