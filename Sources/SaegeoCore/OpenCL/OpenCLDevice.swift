import COpenCL
import Foundation

/// One OpenCL device and what it says about itself.
public final class OpenCLDevice: @unchecked Sendable {  // because a cl_device_id is a C handle, immutable and thread-safe
    let handle: cl_device_id
    /// `opencl:N`, N counting every device of every platform in the loader's order.
    public let id: String
    public let platformName: String
    public let name: String
    public let vendor: String
    public let driverVersion: String
    public let deviceType: DeviceKind
    public let limits: DeviceLimits
    public let computeUnits: Int
    /// Whether the device computes in double precision (cl_khr_fp64, read from the device):
    /// contrast then reduces its per-feature moments on the device (encode.cl, feature_moments).
    public let supportsDouble: Bool

    init(handle: cl_device_id, platformName: String, id: String) throws {
        self.handle = handle
        self.id = id
        self.platformName = platformName
        name = try Self.string(handle, CL_DEVICE_NAME, id)
        vendor = try Self.string(handle, CL_DEVICE_VENDOR, id)
        driverVersion = try Self.string(handle, CL_DRIVER_VERSION, id)
        let type: cl_device_type = try Self.value(handle, CL_DEVICE_TYPE, id)
        deviceType = (type & cl_device_type(CL_DEVICE_TYPE_GPU)) != 0 ? .gpu
            : (type & cl_device_type(CL_DEVICE_TYPE_ACCELERATOR)) != 0 ? .accelerator : .cpu
        let global: cl_ulong = try Self.value(handle, CL_DEVICE_GLOBAL_MEM_SIZE, id)
        let maxAlloc: cl_ulong = try Self.value(handle, CL_DEVICE_MAX_MEM_ALLOC_SIZE, id)
        let local: cl_ulong = try Self.value(handle, CL_DEVICE_LOCAL_MEM_SIZE, id)
        let group: Int = try Self.value(handle, CL_DEVICE_MAX_WORK_GROUP_SIZE, id)
        let units: cl_uint = try Self.value(handle, CL_DEVICE_MAX_COMPUTE_UNITS, id)
        computeUnits = Int(units)
        supportsDouble = try Self.string(handle, CL_DEVICE_EXTENSIONS, id).split(separator: " ").contains("cl_khr_fp64")
        limits = DeviceLimits(globalMemoryBytes: Int(global), maxAllocationBytes: Int(maxAlloc),
                              localMemoryBytes: Int(local), maxWorkGroupSize: group)
    }

    /// Every device of every platform, platforms and devices in the order the ICD loader lists them.
    static func all() throws -> [OpenCLDevice] {
        var count: cl_uint = 0
        let status = clGetPlatformIDs(0, nil, &count)
        // No ICD installed or no platform: not an error, just no OpenCL devices.
        if status == -1001 || count == 0 { return [] }
        try OpenCLError.check(status, "clGetPlatformIDs", device: "opencl")
        var platforms = [cl_platform_id?](repeating: nil, count: Int(count))
        try OpenCLError.check(clGetPlatformIDs(count, &platforms, nil), "clGetPlatformIDs", device: "opencl")
        var devices: [OpenCLDevice] = []
        for case let platform? in platforms {
            let platformName = try platformString(platform, CL_PLATFORM_NAME)
            var n: cl_uint = 0
            let found = clGetDeviceIDs(platform, cl_device_type(CL_DEVICE_TYPE_ALL), 0, nil, &n)
            if found == CL_DEVICE_NOT_FOUND || n == 0 { continue }
            try OpenCLError.check(found, "clGetDeviceIDs", device: "opencl")
            var ids = [cl_device_id?](repeating: nil, count: Int(n))
            try OpenCLError.check(clGetDeviceIDs(platform, cl_device_type(CL_DEVICE_TYPE_ALL), n, &ids, nil), "clGetDeviceIDs", device: "opencl")
            for case let id? in ids { devices.append(try OpenCLDevice(handle: id, platformName: platformName, id: "opencl:\(devices.count)")) }
        }
        return devices
    }

    private static func platformString(_ platform: cl_platform_id, _ param: Int32) throws -> String {
        var size = 0
        try OpenCLError.check(clGetPlatformInfo(platform, cl_platform_info(param), 0, nil, &size), "clGetPlatformInfo", device: "opencl")
        var bytes = [CChar](repeating: 0, count: size + 1)
        try OpenCLError.check(clGetPlatformInfo(platform, cl_platform_info(param), size, &bytes, nil), "clGetPlatformInfo", device: "opencl")
        return cString(bytes).trimmingCharacters(in: .whitespaces)
    }

    private static func string(_ device: cl_device_id, _ param: Int32, _ id: String) throws -> String {
        var size = 0
        try OpenCLError.check(clGetDeviceInfo(device, cl_device_info(param), 0, nil, &size), "clGetDeviceInfo", device: id)
        var bytes = [CChar](repeating: 0, count: size + 1)
        try OpenCLError.check(clGetDeviceInfo(device, cl_device_info(param), size, &bytes, nil), "clGetDeviceInfo", device: id)
        return cString(bytes).trimmingCharacters(in: .whitespaces)
    }

    private static func value<T: FixedWidthInteger>(_ device: cl_device_id, _ param: Int32, _ id: String) throws -> T {
        var result: T = 0
        try OpenCLError.check(clGetDeviceInfo(device, cl_device_info(param), MemoryLayout<T>.size, &result, nil),
                              "clGetDeviceInfo", device: id)
        return result
    }
}
