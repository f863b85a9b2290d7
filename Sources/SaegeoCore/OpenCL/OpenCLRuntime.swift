import COpenCL

// The only file that calls the OpenCL C API. Each handle is owned by a final class that
// releases it; the classes are @unchecked Sendable because OpenCL handles are thread-safe
// (OpenCL 1.2 section A.2) except for clSetKernelArg, which only the owning engine calls.

/// One OpenCL device and what it says about itself.
public final class OpenCLDevice: @unchecked Sendable {
    let handle: cl_device_id
    public let platformName: String
    public let name: String
    public let vendor: String
    public let driverVersion: String
    public let deviceType: DeviceKind
    public let limits: DeviceLimits
    public let computeUnits: Int

    init(handle: cl_device_id, platformName: String) throws {
        self.handle = handle
        self.platformName = platformName
        name = try Self.string(handle, CL_DEVICE_NAME)
        vendor = try Self.string(handle, CL_DEVICE_VENDOR)
        driverVersion = try Self.string(handle, CL_DRIVER_VERSION)
        let type: cl_device_type = try Self.value(handle, CL_DEVICE_TYPE)
        deviceType = (type & cl_device_type(CL_DEVICE_TYPE_GPU)) != 0 ? .gpu
            : (type & cl_device_type(CL_DEVICE_TYPE_ACCELERATOR)) != 0 ? .accelerator : .cpu
        let global: cl_ulong = try Self.value(handle, CL_DEVICE_GLOBAL_MEM_SIZE)
        let maxAlloc: cl_ulong = try Self.value(handle, CL_DEVICE_MAX_MEM_ALLOC_SIZE)
        let local: cl_ulong = try Self.value(handle, CL_DEVICE_LOCAL_MEM_SIZE)
        let group: Int = try Self.value(handle, CL_DEVICE_MAX_WORK_GROUP_SIZE)
        let units: cl_uint = try Self.value(handle, CL_DEVICE_MAX_COMPUTE_UNITS)
        computeUnits = Int(units)
        limits = DeviceLimits(globalMemoryBytes: Int(global), maxAllocationBytes: Int(maxAlloc),
                              localMemoryBytes: Int(local), maxWorkGroupSize: group)
    }

    /// Every device of every platform, platforms and devices in the order the ICD loader lists them.
    static func all() throws -> [OpenCLDevice] {
        var count: cl_uint = 0
        let status = clGetPlatformIDs(0, nil, &count)
        // No ICD installed or no platform: not an error, just no OpenCL devices.
        if status == -1001 || count == 0 { return [] }
        try OpenCLError.check(status, "clGetPlatformIDs")
        var platforms = [cl_platform_id?](repeating: nil, count: Int(count))
        try OpenCLError.check(clGetPlatformIDs(count, &platforms, nil), "clGetPlatformIDs")
        var devices: [OpenCLDevice] = []
        for case let platform? in platforms {
            let platformName = try platformString(platform, CL_PLATFORM_NAME)
            var n: cl_uint = 0
            let found = clGetDeviceIDs(platform, cl_device_type(CL_DEVICE_TYPE_ALL), 0, nil, &n)
            if found == CL_DEVICE_NOT_FOUND || n == 0 { continue }
            try OpenCLError.check(found, "clGetDeviceIDs")
            var ids = [cl_device_id?](repeating: nil, count: Int(n))
            try OpenCLError.check(clGetDeviceIDs(platform, cl_device_type(CL_DEVICE_TYPE_ALL), n, &ids, nil), "clGetDeviceIDs")
            for case let id? in ids { devices.append(try OpenCLDevice(handle: id, platformName: platformName)) }
        }
        return devices
    }

    private static func platformString(_ platform: cl_platform_id, _ param: Int32) throws -> String {
        var size = 0
        try OpenCLError.check(clGetPlatformInfo(platform, cl_platform_info(param), 0, nil, &size), "clGetPlatformInfo")
        var bytes = [CChar](repeating: 0, count: size + 1)
        try OpenCLError.check(clGetPlatformInfo(platform, cl_platform_info(param), size, &bytes, nil), "clGetPlatformInfo")
        return cString(bytes).trimmingCharacters(in: .whitespaces)
    }

    private static func string(_ device: cl_device_id, _ param: Int32) throws -> String {
        var size = 0
        try OpenCLError.check(clGetDeviceInfo(device, cl_device_info(param), 0, nil, &size), "clGetDeviceInfo")
        var bytes = [CChar](repeating: 0, count: size + 1)
        try OpenCLError.check(clGetDeviceInfo(device, cl_device_info(param), size, &bytes, nil), "clGetDeviceInfo")
        return cString(bytes).trimmingCharacters(in: .whitespaces)
    }

    private static func value<T: FixedWidthInteger>(_ device: cl_device_id, _ param: Int32) throws -> T {
        var result: T = 0
        try OpenCLError.check(clGetDeviceInfo(device, cl_device_info(param), MemoryLayout<T>.size, &result, nil),
                              "clGetDeviceInfo")
        return result
    }
}

/// A context on one device; buffers and programs belong to it, commands go through its queues.
final class OpenCLContext: @unchecked Sendable {
    let device: OpenCLDevice
    let context: cl_context

    init(device: OpenCLDevice) throws {
        self.device = device
        var status: cl_int = 0
        var deviceHandle: cl_device_id? = device.handle
        guard let context = clCreateContext(nil, 1, &deviceHandle, nil, nil, &status) else {
            throw OpenCLError(status, call: "clCreateContext")
        }
        self.context = context
    }

    deinit { clReleaseContext(context) }

    func queue() throws -> OpenCLQueue { try OpenCLQueue(context: self) }

    /// A device buffer; `hostAllocated` asks the driver for host memory it can transfer from
    /// directly (CL_MEM_ALLOC_HOST_PTR: pinned memory on GPUs).
    func buffer(bytes: Int, label: String, hostAllocated: Bool = false) throws -> OpenCLBuffer {
        try OpenCLBuffer(context: self, bytes: bytes, label: label, hostAllocated: hostAllocated)
    }

    func program(source: String, options: String) throws -> OpenCLProgram {
        try OpenCLProgram(context: self, source: source, options: options)
    }
}

/// A command's completion, to order commands across queues and to wait for on the host.
final class OpenCLEvent: @unchecked Sendable {
    let handle: cl_event
    init(_ handle: cl_event) { self.handle = handle }
    deinit { clReleaseEvent(handle) }

    func wait() throws {
        var event: cl_event? = handle
        try OpenCLError.check(clWaitForEvents(1, &event), "clWaitForEvents")
    }
}

/// An in-order command queue. Two of them on one context let a transfer run while a kernel runs.
final class OpenCLQueue: @unchecked Sendable {
    let context: OpenCLContext
    let queue: cl_command_queue

    init(context: OpenCLContext) throws {
        self.context = context
        var status: cl_int = 0
        guard let queue = clCreateCommandQueue(context.context, context.device.handle, 0, &status) else {
            throw OpenCLError(status, call: "clCreateCommandQueue")
        }
        self.queue = queue
    }

    deinit { clReleaseCommandQueue(queue) }

    /// Calls `body` with the handles of `events` as an OpenCL wait list.
    private func withWaitList<R>(_ events: [OpenCLEvent?], _ body: (cl_uint, UnsafePointer<cl_event?>?) throws -> R) rethrows -> R {
        let handles: [cl_event?] = events.compactMap { $0?.handle }
        if handles.isEmpty { return try body(0, nil) }
        return try handles.withUnsafeBufferPointer { try body(cl_uint($0.count), $0.baseAddress) }
    }

    /// Copies host memory into a buffer. Non-blocking: the memory must stay valid until the
    /// returned event completes.
    @discardableResult
    func write(_ buffer: OpenCLBuffer, from source: UnsafeRawBufferPointer, blocking: Bool,
               after events: [OpenCLEvent?] = []) throws -> OpenCLEvent? {
        guard source.count > 0 else { return nil }
        var event: cl_event?
        try withWaitList(events) { count, list in
            try OpenCLError.check(clEnqueueWriteBuffer(queue, buffer.handle, cl_bool(blocking ? CL_TRUE : CL_FALSE), 0,
                                                       source.count, source.baseAddress, count, list, &event),
                                  "clEnqueueWriteBuffer", buffer.label)
        }
        return event.map(OpenCLEvent.init)
    }

    func read(_ buffer: OpenCLBuffer, into destination: UnsafeMutableRawBufferPointer) throws {
        guard destination.count > 0 else { return }
        try OpenCLError.check(clEnqueueReadBuffer(queue, buffer.handle, cl_bool(CL_TRUE), 0, destination.count,
                                                  destination.baseAddress, 0, nil, nil), "clEnqueueReadBuffer", buffer.label)
    }

    @discardableResult
    func run(_ kernel: OpenCLKernel, _ arguments: [OpenCLKernel.Argument], global: [Int], local: [Int],
             after events: [OpenCLEvent?] = []) throws -> OpenCLEvent? {
        try kernel.setArguments(arguments)
        var event: cl_event?
        try withWaitList(events) { count, list in
            // An empty local size lets the implementation choose one.
            let status = local.isEmpty
                ? clEnqueueNDRangeKernel(queue, kernel.handle, cl_uint(global.count), nil, global, nil, count, list, &event)
                : clEnqueueNDRangeKernel(queue, kernel.handle, cl_uint(global.count), nil, global, local, count, list, &event)
            try OpenCLError.check(status,
                                  "clEnqueueNDRangeKernel", "\(kernel.name) global \(global) local \(local)")
        }
        return event.map(OpenCLEvent.init)
    }

    func finish() throws {
        try OpenCLError.check(clFinish(queue), "clFinish")
    }
}

/// A device buffer of a fixed size.
final class OpenCLBuffer: @unchecked Sendable {
    let handle: cl_mem
    let bytes: Int
    let label: String

    init(context: OpenCLContext, bytes: Int, label: String, hostAllocated: Bool = false) throws {
        let limit = context.device.limits.maxAllocationBytes
        guard bytes <= limit else {
            throw OpenCLError(CL_INVALID_BUFFER_SIZE, call: "clCreateBuffer",
                              detail: "\(label) needs \(bytes) bytes, more than the device's largest allocation of \(limit)")
        }
        var status: cl_int = 0
        let flags = cl_mem_flags(CL_MEM_READ_WRITE) | (hostAllocated ? cl_mem_flags(CL_MEM_ALLOC_HOST_PTR) : 0)
        guard let mem = clCreateBuffer(context.context, flags, max(bytes, 4), nil, &status) else {
            throw OpenCLError(status, call: "clCreateBuffer", detail: "\(label), \(bytes) bytes")
        }
        handle = mem
        self.bytes = bytes
        self.label = label
    }

    deinit { clReleaseMemObject(handle) }
}

/// A program built for one device, and the kernels made from it.
final class OpenCLProgram: @unchecked Sendable {
    let handle: cl_program
    private let context: OpenCLContext

    init(context: OpenCLContext, source: String, options: String) throws {
        self.context = context
        var status: cl_int = 0
        let program: cl_program? = source.withCString { text in
            var pointer: UnsafePointer<CChar>? = text
            var length = strlen(text)
            return clCreateProgramWithSource(context.context, 1, &pointer, &length, &status)
        }
        guard let program else { throw OpenCLError(status, call: "clCreateProgramWithSource") }
        handle = program
        var device: cl_device_id? = context.device.handle
        let built = clBuildProgram(program, 1, &device, options, nil, nil)
        if built != CL_SUCCESS {
            throw OpenCLError(built, call: "clBuildProgram", detail: "options '\(options)'; build log: \(buildLog())")
        }
    }

    deinit { clReleaseProgram(handle) }

    func buildLog() -> String {
        var size = 0
        clGetProgramBuildInfo(handle, context.device.handle, cl_program_build_info(CL_PROGRAM_BUILD_LOG), 0, nil, &size)
        var bytes = [CChar](repeating: 0, count: size + 1)
        clGetProgramBuildInfo(handle, context.device.handle, cl_program_build_info(CL_PROGRAM_BUILD_LOG), size, &bytes, nil)
        return cString(bytes).split(separator: "\n").joined(separator: " | ")
    }

    func kernel(_ name: String) throws -> OpenCLKernel {
        try OpenCLKernel(program: self, device: context.device, name: name)
    }
}

/// One kernel: arguments are set in order, then it is enqueued on a queue (OpenCLQueue.run).
final class OpenCLKernel: @unchecked Sendable {
    enum Argument {
        case buffer(OpenCLBuffer)
        case int32(Int32)
        case float(Float)
    }

    let handle: cl_kernel
    let name: String
    private let device: OpenCLDevice
    private let program: OpenCLProgram

    init(program: OpenCLProgram, device: OpenCLDevice, name: String) throws {
        var status: cl_int = 0
        guard let kernel = clCreateKernel(program.handle, name, &status) else {
            throw OpenCLError(status, call: "clCreateKernel", detail: name)
        }
        handle = kernel
        self.name = name
        self.device = device
        self.program = program
    }

    deinit { clReleaseKernel(handle) }

    /// The largest work-group this compiled kernel can run with on its device.
    var maxWorkGroupSize: Int {
        get throws {
            var size = 0
            try OpenCLError.check(clGetKernelWorkGroupInfo(handle, device.handle,
                                                           cl_kernel_work_group_info(CL_KERNEL_WORK_GROUP_SIZE),
                                                           MemoryLayout<Int>.size, &size, nil),
                                  "clGetKernelWorkGroupInfo", name)
            return size
        }
    }

    func setArguments(_ arguments: [Argument]) throws {
        for (index, argument) in arguments.enumerated() {
            let status: cl_int
            switch argument {
            case .buffer(let buffer):
                var mem: cl_mem? = buffer.handle
                status = clSetKernelArg(handle, cl_uint(index), MemoryLayout<cl_mem>.size, &mem)
            case .int32(let value):
                var v = value
                status = clSetKernelArg(handle, cl_uint(index), MemoryLayout<Int32>.size, &v)
            case .float(let value):
                var v = value
                status = clSetKernelArg(handle, cl_uint(index), MemoryLayout<Float>.size, &v)
            }
            try OpenCLError.check(status, "clSetKernelArg", "\(name) argument \(index)")
        }
    }
}

import Foundation

/// A NUL-terminated C string from a byte array the API filled in.
private func cString(_ bytes: [CChar]) -> String {
    String(decoding: bytes.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
}
