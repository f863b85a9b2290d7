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

    /// Resolves a device list to device ids: `auto`, `cpu`, `opencl:N`, `opencl:all`, or several
    /// separated by commas (`opencl:0,opencl:1`, `cpu,opencl:0`). `auto` takes the OpenCL GPUs if
    /// there are any and the CPU otherwise: an OpenCL CPU device (PoCL) is never chosen by itself.
    public func resolve(_ spec: String) throws -> [String] {
        var ids: [String] = []
        for part in spec.split(separator: ",").map({ $0.trimmingCharacters(in: .whitespaces) }) {
            let resolved: [String]
            switch part {
            case "auto":
                let gpus = openCLDevices.indices.filter { openCLDevices[$0].deviceType == .gpu }
                resolved = gpus.isEmpty ? ["cpu"] : gpus.map { "opencl:\($0)" }
            case "cpu":
                resolved = ["cpu"]
            case "opencl:all":
                guard !openCLDevices.isEmpty else {
                    throw SaegeoError.badInput("--device opencl:all: there are no OpenCL devices; use cpu")
                }
                resolved = openCLDevices.indices.map { "opencl:\($0)" }
            case _ where part.hasPrefix("opencl:") && Int(part.dropFirst("opencl:".count)) != nil:
                let index = Int(part.dropFirst("opencl:".count))!
                guard openCLDevices.indices.contains(index) else {
                    let known = openCLDevices.isEmpty ? "there are no OpenCL devices" : "there are opencl:0 to opencl:\(openCLDevices.count - 1)"
                    throw SaegeoError.badInput("unknown device '\(part)': \(known); run 'saegeo devices' to list them")
                }
                resolved = [part]
            default:
                throw SaegeoError.badInput("unknown device '\(part)'; use auto, cpu, opencl:N, opencl:all or a comma-separated list (run 'saegeo devices' to list them)")
            }
            for id in resolved where ids.contains(id) {
                throw SaegeoError.badInput("device \(id) is listed twice in '\(spec)'; name each device once")
            }
            ids += resolved
        }
        guard !ids.isEmpty else { throw SaegeoError.badInput("no device given; use auto, cpu or opencl:N") }
        return ids
    }

    /// An engine for one device id from `resolve`.
    public func engine(for id: String, overrides: LimitOverrides = .init(),
                       variant: KernelConfiguration.Variant? = nil, tuning: TuningCache? = nil) throws -> NeighborEngine {
        if id == "cpu" { return BLASNeighborEngine() }
        guard id.hasPrefix("opencl:"), let index = Int(id.dropFirst("opencl:".count)),
              openCLDevices.indices.contains(index) else {
            throw SaegeoError.badInput("unknown device '\(id)'; run 'saegeo devices' to list them")
        }
        do {
            return try OpenCLNeighborEngine(device: openCLDevices[index], id: id, overrides: overrides, variant: variant, tuning: tuning)
        } catch let error as OpenCLError {
            throw SaegeoError.device("\(id) (\(openCLDevices[index].name)): \(error)")
        }
    }

    /// A scoring engine for an OpenCL device id (`opencl:N`).
    public func scoreEngine(for id: String, jumpReLU: Bool, overrides: LimitOverrides = .init(),
                            variant: KernelConfiguration.Variant? = nil, tuning: TuningCache? = nil) throws -> OpenCLScoreEngine {
        guard id.hasPrefix("opencl:"), let index = Int(id.dropFirst("opencl:".count)), openCLDevices.indices.contains(index) else {
            throw SaegeoError.badInput("unknown OpenCL device '\(id)'; run 'saegeo devices' to list them")
        }
        do {
            return try OpenCLScoreEngine(device: openCLDevices[index], id: id, jumpReLU: jumpReLU, overrides: overrides, variant: variant, tuning: tuning)
        } catch let error as OpenCLError {
            throw SaegeoError.device("\(id) (\(openCLDevices[index].name)): \(error)")
        }
    }
}
