import Foundation

extension BackendKind {
    /// The device of CPUBackend (OpenBLAS).
    public static let blas = BackendKind(rawValue: "blas")
}

/// The host's cores through OpenBLAS: one device, `cpu`.
public struct CPUBackend: DeviceBackend {
    public let family = "cpu"
    public let displayName = "CPU"
    public let hasNumberedDevices = false
    /// A lowered largest allocation (tests of GPU-like limits), or nil for the host's memory.
    private let maxAllocationBytes: Int?

    public init(maxAllocationBytes: Int? = nil) { self.maxAllocationBytes = maxAllocationBytes }

    public var devices: [DeviceDescription] { [CPUEngine.describe()] }

    public func capabilities(for id: String) throws -> DeviceCapabilities {
        CPUEngine.capabilities(maxAllocationBytes: maxAllocationBytes ?? .max)
    }

    public func engine(for id: String) throws -> ComputeEngine {
        CPUEngine(maxAllocationBytes: maxAllocationBytes ?? .max)
    }

    /// Chains of fmas, a streaming copy, sgemm and the engine's heaps (CPUProbes); nothing to tune.
    public func probes(for id: String, secondsPerProbe: Double, runs: Int) throws -> DeviceProbes? {
        CPUProbes(secondsPerProbe: secondsPerProbe, runs: runs)
    }
}
