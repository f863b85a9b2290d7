import Foundation

/// The host's cores through OpenBLAS: one device, `cpu`.
public struct CPUBackend: DeviceBackend {
    public let family = "cpu"
    public let displayName = "CPU"
    public let hasNumberedDevices = false
    /// A lowered largest allocation (tests of GPU-like limits), or nil for the host's memory.
    private let maxAllocationBytes: Int?

    public init(maxAllocationBytes: Int? = nil) { self.maxAllocationBytes = maxAllocationBytes }

    public var devices: [DeviceDescription] { [CPUEngine.describe()] }

    public func engine(for id: String) throws -> ComputeEngine {
        CPUEngine(maxAllocationBytes: maxAllocationBytes ?? .max)
    }
}
