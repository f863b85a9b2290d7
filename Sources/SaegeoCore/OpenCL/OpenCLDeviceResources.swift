/// Everything saegeo holds on one OpenCL device for the whole process: its one context (the only
/// `clCreateContext`), a compute queue and a transfer queue (a copy on one overlaps a kernel on
/// the other) and the programs built so far, keyed by source and defines. The engine, bench's
/// probes and the tuner all work through it, so a run builds each program once and holds one
/// context per device, whatever workloads it runs. Buffers kept for reuse belong to each engine
/// (OpenCLBufferPool): two engines may share a device.
final class OpenCLDeviceResources: @unchecked Sendable {  // Sendable because OpenCL handles are thread-safe and the caches are Locked
    let device: OpenCLDevice
    let context: OpenCLContext
    let compute: OpenCLQueue
    let transfer: OpenCLQueue
    /// The workloads' buffers alive on the device, and their peak (every one allocated here).
    let memory = DeviceMemoryLedger()
    private let programs = Locked<[String: OpenCLProgram]>([:])

    /// The one set of resources of `device` in this process, made on first use.
    static func shared(for device: OpenCLDevice) throws -> OpenCLDeviceResources {
        try made.withLock { made in
            if let resources = made[device.id] { return resources }
            let resources = try OpenCLDeviceResources(device: device)
            made[device.id] = resources
            return resources
        }
    }

    private static let made = Locked<[String: OpenCLDeviceResources]>([:])

    /// Made once per device by `shared(for:)`; a test makes its own to count one engine's
    /// buffers alone (its own context).
    init(device: OpenCLDevice) throws {
        self.device = device
        context = try OpenCLContext(device: device)
        compute = try context.queue()
        transfer = try context.queue()
    }

    /// The program of these embedded kernel files (Kernels/*.cl) built with these options, built
    /// on first use. The build log of a failure travels in the error.
    func program(_ files: [String], options: String) throws -> OpenCLProgram {
        let key = files.joined(separator: "+") + " " + options
        return try programs.withLock { cache in
            if let built = cache[key] { return built }
            let source = files.map { EmbeddedKernels.sources[$0]! }.joined(separator: "\n")
            let built = try context.program(source: source, options: "-cl-std=CL1.2 " + options)
            cache[key] = built
            return built
        }
    }

    /// A device buffer for a workload, counted in `memory` while it lives. Engines allocate
    /// only through here (their OpenCLBufferPool, candidates and streamed slots), the sizes of
    /// their plan's buffers (ScorePlanner.encoderBuffers, TilePlanner).
    func buffer(bytes: Int, label: String) throws -> OpenCLBuffer {
        try OpenCLBuffer(context: context, bytes: bytes, label: label, ledger: memory)
    }

}

/// One engine's device buffers, kept by name and reused from tile to tile: a buffer is
/// reallocated only when a tile needs more than it holds. Used by its engine's thread only.
final class OpenCLBufferPool {
    private let resources: OpenCLDeviceResources
    private var kept: [String: OpenCLBuffer] = [:]

    init(_ resources: OpenCLDeviceResources) { self.resources = resources }

    /// The buffer kept under `name`, reallocated (after the compute queue has finished with the
    /// old one) only when it is smaller than `bytes`.
    func buffer(_ name: String, atLeast bytes: Int) throws -> OpenCLBuffer {
        if let buffer = kept[name], buffer.bytes >= bytes { return buffer }
        try resources.compute.finish()
        kept[name] = nil
        let buffer = try resources.buffer(bytes: bytes, label: name)
        kept[name] = buffer
        return buffer
    }
}
