import Foundation
@testable import SaegeoCore

/// The devices the tests run on, found through catalogs rather than named: the standard backends
/// (`DeviceCatalog.standard`, whatever devices this machine has) and the float64 test backend
/// (Float64Backend/), registered beside them as any plug-in would be.
enum TestBackends {
    /// Every backend with these settings: OpenCL's limits and kernels, and a largest allocation for
    /// every backend (so that the planner cuts small tiles): the standard ones (the CPU alone where
    /// OpenCL cannot list its devices), then the float64 plug-in.
    static func catalog(overrides: LimitOverrides = .init(), variant: KernelConfiguration.Variant? = nil,
                        maxAllocation: Int? = nil) -> DeviceCatalog {
        let standard = (try? DeviceCatalog.standard(openCL: .init(overrides: overrides, variant: variant),
                                                    maxAllocationBytes: maxAllocation).backends)
            ?? [CPUBackend(maxAllocationBytes: maxAllocation)]
        return DeviceCatalog(backends: standard + [Float64Backend(maxAllocationBytes: maxAllocation)])
    }

    /// The standard catalog's devices (none when it cannot be made).
    static let standard: [DeviceDescription] = (try? DeviceCatalog.standard().descriptions) ?? []
    /// The device the others are compared with: the standard catalog's last resort (the CPU).
    static let reference: String = (try? DeviceCatalog.standard().backends.last?.devices.first?.id) ?? "cpu"
    /// The standard devices, the reference first.
    static var standardIds: [String] { [reference] + standard.map(\.id).filter { $0 != reference } }
    /// The devices of the test-only plug-ins (the float64 backend).
    static var plugInIds: [String] {
        let standardIds = Set(standard.map(\.id))
        return catalog().descriptions.map(\.id).filter { !standardIds.contains($0) }
    }
    /// The first device of every backend, test plug-ins included (in the catalog's order).
    static var firstOfEachBackend: [String] { catalog().backends.compactMap { $0.devices.first?.id } }
    /// The OpenCL devices, for tests of OpenCL's own kernels and limits.
    static var openCL: [String] { standard.filter { $0.backend == .opencl }.map(\.id) }
    static var hasOpenCL: Bool { !openCL.isEmpty }
}

/// Every engine configuration the conformance suite runs: for every device of `TestBackends`
/// its default and a 64 KiB allocation limit (many query blocks and key tiles), except OpenCL's,
/// which run their default kernels, the GPU (local-memory) kernels, those under GPU-sized and tiny
/// limits, and 256 KiB buffers; then the reference device with each other device at once, under
/// a small budget.
struct BackendCase: CustomStringConvertible, Sendable {
    let description: String
    let device: String
    let overrides: LimitOverrides
    let variant: KernelConfiguration.Variant?
    let maxAllocation: Int?
    /// Several devices at once (comma-separated ids), each with the settings above.
    var memoryBudget: Int? = nil
    /// The CPU through the certified bfloat16 first pass (`device` is then "cpu").
    var bfloat16: BFloat16Product? = nil

    func makeEngines() throws -> [ComputeEngine] {
        if let bfloat16 { return [try Self.bfloat16Backend(bfloat16, maxAllocation: maxAllocation).engine(for: "cpu")] }
        let catalog = TestBackends.catalog(overrides: overrides, variant: variant, maxAllocation: maxAllocation)
        return try device.split(separator: ",").map { try catalog.engine(for: String($0)) }
    }

    static let all: [BackendCase] = {
        var cases: [BackendCase] = []
        let devices = TestBackends.catalog().descriptions
        for description in devices {
            let id = description.id
            guard description.backend == .opencl else {
                cases += [
                    BackendCase(description: id, device: id, overrides: .init(), variant: nil, maxAllocation: nil),
                    BackendCase(description: "\(id), 64 KiB tiles", device: id, overrides: .init(), variant: nil,
                                maxAllocation: 64 << 10),
                ]
                continue
            }
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
            ]
        }
        // The CPU's certified bfloat16 first pass: native where this CPU has it, and portable.
        for product in Self.bfloat16Products {
            cases += [
                BackendCase(description: "cpu bfloat16 \(product)", device: "cpu", overrides: .init(), variant: nil,
                            maxAllocation: nil, bfloat16: product),
                // 128 KiB: the first pass keeps k + max(64, 2k) candidates per query, whose buffer
                // alone outgrows 64 KiB on the conformance dictionaries.
                BackendCase(description: "cpu bfloat16 \(product), 128 KiB tiles", device: "cpu", overrides: .init(),
                            variant: nil, maxAllocation: 128 << 10, bfloat16: product),
            ]
        }
        let reference = TestBackends.reference
        for other in devices.map(\.id) where other != reference {
            cases.append(BackendCase(description: "\(reference) + \(other), 1 MiB budget", device: "\(reference),\(other)",
                                     overrides: .init(), variant: nil, maxAllocation: nil, memoryBudget: 1 << 20))
        }
        if let first = TestBackends.openCL.first {
            // Two contexts on the same device behave as two devices.
            cases.append(BackendCase(description: "\(first) twice, tiled, 2 MiB budget", device: "\(first),\(first)",
                                     overrides: .init(), variant: .localTiled, maxAllocation: nil, memoryBudget: 2 << 20))
        }
        return cases
    }()
}

extension BackendCase {
    /// The engines of a device list as the scoring and family tests write it (`cpu`, `f64`,
    /// `opencl:N`, comma separated); OpenCL with the GPU kernels under GPU-sized limits.
    static func engines(_ devices: String) throws -> [ComputeEngine] {
        let catalog = TestBackends.catalog(overrides: .typicalGPU, variant: .localTiled)
        return try devices.split(separator: ",").map { device in
            if let product = bfloat16Products.first(where: { "cpu-bfloat16-\($0)" == device }) {
                return try bfloat16Backend(product, maxAllocation: nil).engine(for: "cpu")
            }
            return try catalog.engine(for: String(device))
        }
    }

    /// The bfloat16 products this CPU runs: the portable one, and the native one where it runs.
    static let bfloat16Products: [BFloat16Product] = [.portable] + (BFloat16Product.best == .native ? [.native] : [])

    static func bfloat16Backend(_ product: BFloat16Product, maxAllocation: Int?) -> CPUBackend {
        CPUBackend(maxAllocationBytes: maxAllocation, precision: .bfloat16, portableBFloat16: product == .portable)
    }

    /// Those device lists: the reference (the CPU) first (the others are compared with it), each
    /// other standard device, the reference with the first of them, the test plug-ins, and the CPU
    /// through the certified bfloat16 first pass (`cpu-bfloat16-portable`, `-native`).
    static var deviceLists: [String] {
        let others = TestBackends.standardIds.dropFirst()
        return TestBackends.standardIds + (others.first.map { ["\(TestBackends.reference),\($0)"] } ?? [])
            + TestBackends.plugInIds + bfloat16Products.map { "cpu-bfloat16-\($0)" }
    }
}
