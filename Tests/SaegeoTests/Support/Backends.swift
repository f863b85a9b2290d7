import Foundation
@testable import SaegeoCore

/// Every engine configuration the conformance suite runs: the CPU, and for each OpenCL device
/// its default kernels, the GPU (local-memory) kernels, those under GPU-sized and tiny limits,
/// and a tiny allocation limit that forces many query blocks and key tiles.
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
