/// Every device saegeo can compute on, in a stable order: OpenCL devices as `opencl:0`,
/// `opencl:1`, ... (platforms, then devices, as the ICD loader lists them), then `cpu`.
public struct DeviceCatalog {
    public let openCLDevices: [OpenCLDevice]

    public init() throws {
        do {
            openCLDevices = try OpenCLDevice.all()
        } catch let error as OpenCLError {
            throw SaegeoError.device("cannot list OpenCL devices: \(error); check the OpenCL ICD installation (clinfo)")
        }
    }

    public var descriptions: [DeviceDescription] {
        openCLDevices.enumerated().map { index, device in
            DeviceDescription(id: "opencl:\(index)", name: device.name, vendor: device.vendor, type: device.deviceType,
                              backend: .opencl, globalMemoryBytes: device.limits.globalMemoryBytes,
                              maxAllocationBytes: device.limits.maxAllocationBytes,
                              computeUnits: device.computeUnits, driverVersion: device.driverVersion)
        } + [BLASNeighborEngine.describe()]
    }

    /// Resolves `auto`, `cpu` or `opencl:N` to device ids. `auto` takes the OpenCL GPUs if there
    /// are any and the CPU otherwise: an OpenCL CPU device (PoCL) is never chosen by itself.
    public func resolve(_ spec: String) throws -> [String] {
        let trimmed = spec.trimmingCharacters(in: .whitespaces)
        if trimmed == "auto" {
            let gpus = openCLDevices.indices.filter { openCLDevices[$0].deviceType == .gpu }
            return gpus.isEmpty ? ["cpu"] : gpus.map { "opencl:\($0)" }
        }
        if trimmed == "cpu" { return ["cpu"] }
        if trimmed.hasPrefix("opencl:"), let index = Int(trimmed.dropFirst("opencl:".count)) {
            guard openCLDevices.indices.contains(index) else {
                let known = openCLDevices.isEmpty ? "there are no OpenCL devices" : "there are opencl:0 to opencl:\(openCLDevices.count - 1)"
                throw SaegeoError.badInput("unknown device '\(spec)': \(known); run 'saegeo devices' to list them")
            }
            return [trimmed]
        }
        throw SaegeoError.badInput("unknown device '\(spec)'; use auto, cpu or opencl:N (run 'saegeo devices' to list them)")
    }

    /// An engine for one device id from `resolve`.
    public func engine(for id: String, overrides: LimitOverrides = .init(),
                       variant: KernelConfiguration.Variant? = nil) throws -> NeighborEngine {
        if id == "cpu" { return BLASNeighborEngine() }
        guard id.hasPrefix("opencl:"), let index = Int(id.dropFirst("opencl:".count)),
              openCLDevices.indices.contains(index) else {
            throw SaegeoError.badInput("unknown device '\(id)'; run 'saegeo devices' to list them")
        }
        do {
            return try OpenCLNeighborEngine(device: openCLDevices[index], id: id, overrides: overrides, variant: variant)
        } catch let error as OpenCLError {
            throw SaegeoError.device("\(id) (\(openCLDevices[index].name)): \(error)")
        }
    }
}
