/// A family of devices saegeo can compute on (OpenCL, the CPU), registered with a DeviceCatalog.
/// A backend lists its devices and makes one engine per device id; everything else about a device
/// is in its description and its engine's capabilities.
public protocol DeviceBackend: Sendable {
    /// The id of its devices: `family:N` (`opencl:0`) for a backend of many devices, or the
    /// family itself (`cpu`) for a backend of exactly one.
    var family: String { get }
    /// The name used in messages ("OpenCL").
    var displayName: String { get }
    var hasNumberedDevices: Bool { get }
    var devices: [DeviceDescription] { get }
    func engine(for id: String) throws -> ComputeEngine
}
