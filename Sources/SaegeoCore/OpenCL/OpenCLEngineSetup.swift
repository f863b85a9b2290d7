/// What an OpenCL engine on a device runs with, for given settings: the device's limits lowered to
/// the overrides, the kernel configuration (tuned, forced or chosen) and so its description and
/// capabilities. The engine and the backend's declarations (no engine built) both come from here,
/// so that what `saegeo plan` plans with is what an engine then does.
struct OpenCLEngineSetup {
    let limits: DeviceLimits
    let kernels: KernelConfiguration
    /// Where the configuration came from, when `saegeo tune` chose it.
    let tunedFrom: String?
    let description: DeviceDescription

    init(device: OpenCLDevice, overrides: LimitOverrides, variant: KernelConfiguration.Variant?,
         tuning: TuningCache?) throws {
        limits = device.limits.lowered(to: overrides)
        if variant == nil, let tuning, let tuned = tuning.configuration(for: device, limits: limits) {
            kernels = tuned
            tunedFrom = tuning.path
        } else {
            kernels = try KernelConfiguration.choose(for: limits, kind: device.deviceType, variant: variant)
            tunedFrom = nil
        }
        description = Self.describe(device, limits: limits)
    }

    /// Tiles of the kernels' row tile and slice of d, buffers within the largest allocation.
    var capabilities: DeviceCapabilities {
        OpenCLEngine.capabilities(layout: TileLayout(rowAlignment: kernels.rowAlignment, dimensionAlignment: kernels.sliceOfD,
                                                     maxAllocationBytes: limits.maxAllocationBytes))
    }

    /// The device as `saegeo devices` lists it, under these limits.
    static func describe(_ device: OpenCLDevice, limits: DeviceLimits) -> DeviceDescription {
        DeviceDescription(id: device.id, name: device.name, vendor: device.vendor, type: device.deviceType, backend: .opencl,
                          globalMemoryBytes: limits.globalMemoryBytes, maxAllocationBytes: limits.maxAllocationBytes,
                          computeUnits: device.computeUnits, driverVersion: device.driverVersion)
    }
}
