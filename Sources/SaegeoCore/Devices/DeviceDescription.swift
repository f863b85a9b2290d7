/// What kind of processor a device is.
public enum DeviceKind: String, Codable, Sendable { case cpu, gpu, accelerator }

/// Which implementation drives a device: a name, not a closed list, so that a backend outside
/// SaegeoCore names itself without an edit here (each backend declares its own name in its
/// folder: `.opencl`, `.blas`). Encoded as the bare string, as the enum it replaces was.
public struct BackendKind: RawRepresentable, Hashable, Codable, Sendable {
    public let rawValue: String
    public init(rawValue: String) { self.rawValue = rawValue }

    public init(from decoder: Decoder) throws { rawValue = try decoder.singleValueContainer().decode(String.self) }
    public func encode(to encoder: Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(rawValue)
    }
}

/// The limits every plan and kernel configuration must honour, read from the device
/// (or lowered on purpose, to test GPU-sized limits on a device that has larger ones).
public struct DeviceLimits: Sendable, Equatable {
    public var globalMemoryBytes: Int
    public var maxAllocationBytes: Int
    public var localMemoryBytes: Int
    public var maxWorkGroupSize: Int

    public init(globalMemoryBytes: Int, maxAllocationBytes: Int, localMemoryBytes: Int, maxWorkGroupSize: Int) {
        self.globalMemoryBytes = globalMemoryBytes
        self.maxAllocationBytes = maxAllocationBytes
        self.localMemoryBytes = localMemoryBytes
        self.maxWorkGroupSize = maxWorkGroupSize
    }

    /// These limits, each lowered to the override where one is given.
    public func lowered(to overrides: LimitOverrides) -> DeviceLimits {
        DeviceLimits(
            globalMemoryBytes: min(globalMemoryBytes, overrides.globalMemoryBytes ?? .max),
            maxAllocationBytes: min(maxAllocationBytes, overrides.maxAllocationBytes ?? .max),
            localMemoryBytes: min(localMemoryBytes, overrides.localMemoryBytes ?? .max),
            maxWorkGroupSize: min(maxWorkGroupSize, overrides.maxWorkGroupSize ?? .max))
    }
}

/// Limits to impose below what a device reports (nil: keep the device's own).
public struct LimitOverrides: Sendable, Equatable {
    public var globalMemoryBytes: Int?
    public var maxAllocationBytes: Int?
    public var localMemoryBytes: Int?
    public var maxWorkGroupSize: Int?
    /// false: compute as if the device had no float64 (tests of the host's fallback for
    /// contrast's moments on a device that has it); nil or true: the device's own.
    public var doublePrecision: Bool?

    public init(globalMemoryBytes: Int? = nil, maxAllocationBytes: Int? = nil,
                localMemoryBytes: Int? = nil, maxWorkGroupSize: Int? = nil) {
        self.globalMemoryBytes = globalMemoryBytes
        self.maxAllocationBytes = maxAllocationBytes
        self.localMemoryBytes = localMemoryBytes
        self.maxWorkGroupSize = maxWorkGroupSize
    }

    /// GPU-like limits, for proving on a CPU device that kernels honour what they are told.
    public static let typicalGPU = LimitOverrides(localMemoryBytes: 48 * 1024, maxWorkGroupSize: 256)
}

/// A compute device as `saegeo devices` lists it.
public struct DeviceDescription: Codable, Sendable, Equatable {
    public let id: String
    public let name: String
    public let vendor: String
    public let type: DeviceKind
    public let backend: BackendKind
    public let globalMemoryBytes: Int
    public let maxAllocationBytes: Int
    public let computeUnits: Int
    public let driverVersion: String

    /// Public so that a backend outside SaegeoCore can describe its devices.
    public init(id: String, name: String, vendor: String, type: DeviceKind, backend: BackendKind,
                globalMemoryBytes: Int, maxAllocationBytes: Int, computeUnits: Int, driverVersion: String) {
        self.id = id
        self.name = name
        self.vendor = vendor
        self.type = type
        self.backend = backend
        self.globalMemoryBytes = globalMemoryBytes
        self.maxAllocationBytes = maxAllocationBytes
        self.computeUnits = computeUnits
        self.driverVersion = driverVersion
    }

    enum CodingKeys: String, CodingKey {
        case id, name, vendor, type, backend
        case globalMemoryBytes = "global_memory_bytes"
        case maxAllocationBytes = "max_allocation_bytes"
        case computeUnits = "compute_units"
        case driverVersion = "driver_version"
    }
}
