/// The device memory one resources object has handed out: the bytes of its buffers alive now and
/// the most ever alive at once. Every buffer a workload allocates goes through the resources
/// object (OpenCLDeviceResources.buffer), so this is what the plan's total is held to
/// (PlannedMemoryTests): a buffer counts from its allocation until its last reference is gone.
final class DeviceMemoryLedger: Sendable {
    private let state = Locked((live: 0, peak: 0))

    func allocated(_ bytes: Int) {
        state.withLock {
            $0.live += bytes
            $0.peak = max($0.peak, $0.live)
        }
    }

    func released(_ bytes: Int) {
        state.withLock { $0.live -= bytes }
    }

    var liveBytes: Int { state.current.live }
    var peakBytes: Int { state.current.peak }
}
