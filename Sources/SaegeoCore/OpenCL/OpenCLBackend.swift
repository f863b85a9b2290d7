/// The OpenCL devices, as `opencl:0`, `opencl:1`, ... (platforms, then devices, in the ICD
/// loader's order). Devices are listed once per process, and each device's resources (context,
/// queues, programs) are made once and shared by every engine on it.
public struct OpenCLBackend: DeviceBackend {
    public let family = "opencl"
    public let displayName = "OpenCL"
    public let hasNumberedDevices = true
    public let openCLDevices: [OpenCLDevice]
    private let overrides: LimitOverrides
    private let variant: KernelConfiguration.Variant?
    private let tuning: TuningCache?

    /// - Parameters:
    ///   - overrides: limits to impose below each device's own (GPU-like limits on PoCL in tests).
    ///   - variant: force a kernel variant; by default GPUs stage tiles in local memory, CPUs do not.
    ///   - tuning: the cache of `saegeo tune`; its configuration for a device is used unless a
    ///     variant is forced.
    public init(overrides: LimitOverrides = .init(), variant: KernelConfiguration.Variant? = nil,
                tuning: TuningCache? = nil) throws {
        openCLDevices = try Self.discovered()
        self.overrides = overrides
        self.variant = variant
        self.tuning = tuning
    }

    public var devices: [DeviceDescription] {
        openCLDevices.map { device in
            DeviceDescription(id: device.id, name: device.name, vendor: device.vendor, type: device.deviceType,
                              backend: .opencl, globalMemoryBytes: device.limits.globalMemoryBytes,
                              maxAllocationBytes: device.limits.maxAllocationBytes,
                              computeUnits: device.computeUnits, driverVersion: device.driverVersion)
        }
    }

    public func engine(for id: String) throws -> ComputeEngine {
        try OpenCLEngine(resources: try resources(for: id), overrides: overrides, variant: variant, tuning: tuning)
    }

    /// The one set of resources of a device in this process.
    func resources(for id: String) throws -> OpenCLDeviceResources {
        guard let device = openCLDevices.first(where: { $0.id == id }) else {
            throw SaegeoError.badInput("unknown OpenCL device '\(id)'; run 'saegeo devices' to list them")
        }
        return try OpenCLDeviceResources.shared(for: device)
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
