import COpenCL

// With OpenCLDevice.swift (discovery), the only code that calls the OpenCL C API; every status
// goes through OpenCLError.check. Each handle is owned by a final class that releases it; the
// classes are @unchecked Sendable because OpenCL handles are thread-safe (OpenCL 1.2 section A.2)
// except for clSetKernelArg, which only the owning engine calls.

/// A context on one device; buffers and programs belong to it, commands go through its queues.
final class OpenCLContext: @unchecked Sendable {  // because OpenCL handles are thread-safe (see above)
    let device: OpenCLDevice
    let context: cl_context

    init(device: OpenCLDevice) throws {
        self.device = device
        var status: cl_int = 0
        var deviceHandle: cl_device_id? = device.handle
        guard let context = clCreateContext(nil, 1, &deviceHandle, nil, nil, &status) else {
            throw OpenCLError.make(status, call: "clCreateContext", device: device.id)
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
final class OpenCLEvent: @unchecked Sendable {  // because OpenCL handles are thread-safe (see above)
    let handle: cl_event
    let device: String
    init(_ handle: cl_event, device: String) {
        self.handle = handle
        self.device = device
    }
    deinit { clReleaseEvent(handle) }

    func wait() throws {
        var event: cl_event? = handle
        try OpenCLError.check(clWaitForEvents(1, &event), "clWaitForEvents", device: device)
    }
}

/// An in-order command queue. Two of them on one context let a transfer run while a kernel runs.
final class OpenCLQueue: @unchecked Sendable {  // because OpenCL handles are thread-safe (see above)
    let context: OpenCLContext
    let queue: cl_command_queue

    init(context: OpenCLContext) throws {
        self.context = context
        var status: cl_int = 0
        guard let queue = clCreateCommandQueue(context.context, context.device.handle, 0, &status) else {
            throw OpenCLError.make(status, call: "clCreateCommandQueue", device: context.device.id)
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
                                  "clEnqueueWriteBuffer", device: context.device.id, buffer.label)
        }
        return event.map { OpenCLEvent($0, device: context.device.id) }
    }

    func read(_ buffer: OpenCLBuffer, into destination: UnsafeMutableRawBufferPointer) throws {
        guard destination.count > 0 else { return }
        try OpenCLError.check(clEnqueueReadBuffer(queue, buffer.handle, cl_bool(CL_TRUE), 0, destination.count,
                                                  destination.baseAddress, 0, nil, nil), "clEnqueueReadBuffer", device: context.device.id, buffer.label)
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
                                  "clEnqueueNDRangeKernel", device: context.device.id, "\(kernel.name) global \(global) local \(local)")
        }
        return event.map { OpenCLEvent($0, device: context.device.id) }
    }

    func finish() throws {
        try OpenCLError.check(clFinish(queue), "clFinish", device: context.device.id)
    }
}

/// A device buffer of a fixed size.
final class OpenCLBuffer: @unchecked Sendable {  // because OpenCL handles are thread-safe (see above)
    let handle: cl_mem
    let bytes: Int
    let label: String
    /// Where the buffer is counted while it lives (buffers of the resources object).
    private let ledger: DeviceMemoryLedger?

    init(context: OpenCLContext, bytes: Int, label: String, hostAllocated: Bool = false,
         ledger: DeviceMemoryLedger? = nil) throws {
        let limit = context.device.limits.maxAllocationBytes
        guard bytes <= limit else {
            throw OpenCLError.make(CL_INVALID_BUFFER_SIZE, call: "clCreateBuffer", device: context.device.id,
                                   detail: "\(label) needs \(bytes) bytes, more than the device's largest allocation of \(limit)")
        }
        var status: cl_int = 0
        let flags = cl_mem_flags(CL_MEM_READ_WRITE) | (hostAllocated ? cl_mem_flags(CL_MEM_ALLOC_HOST_PTR) : 0)
        guard let mem = clCreateBuffer(context.context, flags, max(bytes, 4), nil, &status) else {
            throw OpenCLError.make(status, call: "clCreateBuffer", device: context.device.id, detail: "\(label), \(bytes) bytes")
        }
        handle = mem
        self.bytes = bytes
        self.label = label
        self.ledger = ledger
        ledger?.allocated(bytes)
    }

    deinit {
        clReleaseMemObject(handle)
        ledger?.released(bytes)
    }
}

/// A program built for one device, and the kernels made from it.
final class OpenCLProgram: @unchecked Sendable {  // because OpenCL handles are thread-safe (see above)
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
        guard let program else { throw OpenCLError.make(status, call: "clCreateProgramWithSource", device: context.device.id) }
        handle = program
        var device: cl_device_id? = context.device.handle
        let built = clBuildProgram(program, 1, &device, options, nil, nil)
        if built != CL_SUCCESS {
            throw OpenCLError.make(built, call: "clBuildProgram", device: context.device.id, detail: "options '\(options)'; build log: \(buildLog())")
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
final class OpenCLKernel: @unchecked Sendable {  // because OpenCL handles are thread-safe (see above)
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
            throw OpenCLError.make(status, call: "clCreateKernel", device: device.id, detail: name)
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
                                  "clGetKernelWorkGroupInfo", device: device.id, name)
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
            try OpenCLError.check(status, "clSetKernelArg", device: device.id, "\(name) argument \(index)")
        }
    }
}

import Foundation

/// A NUL-terminated C string from a byte array the API filled in.
func cString(_ bytes: [CChar]) -> String {
    String(decoding: bytes.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
}
