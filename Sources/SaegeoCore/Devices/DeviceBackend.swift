/// A family of devices saegeo can compute on (OpenCL, the CPU, a test backend), registered with a
/// DeviceCatalog. A backend declares its devices and what their engines can do as data, before any
/// engine exists (the planner and `saegeo plan` read them so), makes one engine per device id, and
/// brings its own benchmark probes and kernel tuner where it has them. Nothing outside a backend's
/// folder needs to know which backend it is.
public protocol DeviceBackend: Sendable {
    /// The id of its devices: `family:N` (`opencl:0`) for a backend of many devices, or the
    /// family itself (`cpu`) for a backend of exactly one.
    var family: String { get }
    /// The name used in messages ("OpenCL").
    var displayName: String { get }
    var hasNumberedDevices: Bool { get }
    /// Its devices as its engines describe them (with the backend's settings applied).
    var devices: [DeviceDescription] { get }
    /// What the engine of a device would declare as its `capabilities`, without building it.
    func capabilities(for id: String) throws -> DeviceCapabilities
    func engine(for id: String) throws -> ComputeEngine

    /// The microbenchmarks of `saegeo bench` for a device, or nil where the backend has none (the
    /// bench then measures its end-to-end workloads only).
    func probes(for id: String, secondsPerProbe: Double, runs: Int) throws -> DeviceProbes?
    /// Whether `tuner` gives one (`saegeo tune` names the backends that do).
    var hasTuner: Bool { get }
    /// The kernel search of `saegeo tune` for a device, or nil where the backend has nothing to tune.
    func tuner(for id: String, quick: Bool) throws -> DeviceTuner?
    /// The capabilities of a GPU of this backend that is not here, with this largest allocation
    /// (`saegeo plan --assume-memory`), or nil where the backend drives no such device.
    func assumedGPU(maxAllocationBytes: Int) -> DeviceCapabilities?
    /// The arithmetic a device's engine uses for the run's `--precision`, and why (`saegeo plan`).
    func precision(for id: String) -> PrecisionChoice
}

/// The arithmetic a device computes its products in, as resolved from `--precision`.
public struct PrecisionChoice: Sendable, Equatable, Encodable {
    public var device: String
    public var precision: ComputePrecision
    public var reason: String

    public init(device: String, precision: ComputePrecision, reason: String) {
        self.device = device
        self.precision = precision
        self.reason = reason
    }
}

extension DeviceBackend {
    public func probes(for id: String, secondsPerProbe: Double, runs: Int) throws -> DeviceProbes? { nil }
    public var hasTuner: Bool { false }
    public func tuner(for id: String, quick: Bool) throws -> DeviceTuner? { nil }
    public func assumedGPU(maxAllocationBytes: Int) -> DeviceCapabilities? { nil }
    /// float32: a backend without a certified low-precision first pass.
    public func precision(for id: String) -> PrecisionChoice {
        PrecisionChoice(device: id, precision: .float32, reason: "the \(displayName) backend has no bfloat16 first pass")
    }
}
