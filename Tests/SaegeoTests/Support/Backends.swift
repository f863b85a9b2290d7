import Foundation
@testable import SaegeoCore

/// Every engine configuration the conformance suite runs: the CPU, the float64 test backend
/// (Float64Backend/, registered through a catalog of its own as any plug-in would be), and for each
/// OpenCL device its default kernels, the GPU (local-memory) kernels, those under GPU-sized and
/// tiny limits, and a tiny allocation limit that forces many query blocks and key tiles.
struct BackendCase: CustomStringConvertible, Sendable {
    let description: String
    let device: String
    let overrides: LimitOverrides
    let variant: KernelConfiguration.Variant?
    let maxAllocation: Int?
    /// Several devices at once (comma-separated ids), each with the settings above.
    var memoryBudget: Int? = nil

    func makeEngines() throws -> [ComputeEngine] {
        try device.split(separator: ",").map { id in
            if id == "cpu" { return CPUEngine(maxAllocationBytes: maxAllocation ?? .max) }
            if id == Float64Backend.family {
                return try DeviceCatalog(backends: [Float64Backend(maxAllocationBytes: maxAllocation)]).engine(for: String(id))
            }
            var overrides = self.overrides
            overrides.maxAllocationBytes = maxAllocation
            return try DeviceCatalog().engine(for: String(id), overrides: overrides, variant: variant)
        }
    }

    static let all: [BackendCase] = {
        var cases = [
            BackendCase(description: "cpu", device: "cpu", overrides: .init(), variant: nil, maxAllocation: nil),
            BackendCase(description: "cpu, 64 KiB tiles", device: "cpu", overrides: .init(), variant: nil,
                        maxAllocation: 64 << 10),
            BackendCase(description: "f64", device: Float64Backend.family, overrides: .init(), variant: nil, maxAllocation: nil),
            BackendCase(description: "f64, 64 KiB tiles", device: Float64Backend.family, overrides: .init(), variant: nil,
                        maxAllocation: 64 << 10),
            BackendCase(description: "cpu + f64, 1 MiB budget", device: "cpu,\(Float64Backend.family)", overrides: .init(),
                        variant: nil, maxAllocation: nil, memoryBudget: 1 << 20),
        ]
        let count = (try? DeviceCatalog().openCLDevices.count) ?? 0
        for index in 0..<count {
            let id = "opencl:\(index)"
            cases += [
                BackendCase(description: "\(id) default", device: id, overrides: .init(), variant: nil, maxAllocation: nil),
                BackendCase(description: "\(id) tiled", device: id, overrides: .init(), variant: .localTiled, maxAllocation: nil),
                BackendCase(description: "\(id) tiled, GPU limits (48 KiB local, 256 items)", device: id,
                            overrides: .typicalGPU, variant: .localTiled, maxAllocation: nil),
                BackendCase(description: "\(id) tiled, tiny limits (8 KiB local, 32 items), 256 KiB buffers", device: id,
                            overrides: LimitOverrides(localMemoryBytes: 8 << 10, maxWorkGroupSize: 32),
                            variant: .localTiled, maxAllocation: 256 << 10),
                BackendCase(description: "\(id) direct, 256 KiB buffers", device: id, overrides: .init(),
                            variant: .direct, maxAllocation: 256 << 10),
                BackendCase(description: "cpu + \(id), 1 MiB budget", device: "cpu,\(id)", overrides: .init(),
                            variant: nil, maxAllocation: nil, memoryBudget: 1 << 20),
            ]
        }
        if count >= 1 {
            // Two contexts on the same device behave as two devices.
            cases.append(BackendCase(description: "opencl:0 twice, tiled, 2 MiB budget", device: "opencl:0,opencl:0",
                                     overrides: .init(), variant: .localTiled, maxAllocation: nil, memoryBudget: 2 << 20))
        }
        return cases
    }()
}

extension BackendCase {
    /// The engines of a device list as the scoring and family tests write it (`cpu`, `f64`,
    /// `opencl:N`, comma separated); OpenCL with the GPU kernels under GPU-sized limits.
    static func engines(_ devices: String) throws -> [ComputeEngine] {
        try devices.split(separator: ",").map { part in
            let id = String(part)
            switch id {
            case "cpu": return CPUEngine()
            case Float64Backend.family: return try DeviceCatalog(backends: [Float64Backend()]).engine(for: id)
            default: return try DeviceCatalog().engine(for: id, overrides: .typicalGPU, variant: .localTiled)
            }
        }
    }

    /// Those device lists: the CPU first (the others are compared with it), each OpenCL device,
    /// the CPU with opencl:0, and the float64 test backend.
    static var deviceLists: [String] {
        let openCL = (0..<((try? DeviceCatalog().openCLDevices.count) ?? 0)).map { "opencl:\($0)" }
        return ["cpu"] + openCL + (openCL.isEmpty ? [] : ["cpu,opencl:0"]) + [Float64Backend.family]
    }
}
