import Foundation
import SaegeoCore

/// A backend for the tests only: the CPU engine behind a device that has less free memory than it
/// says. A query block, key tile or pair tile of more than `limit` bytes, or a chunk of
/// activations of more than `chunkLimit` bytes, fails as an OpenCL device fails to allocate
/// (CL_MEM_OBJECT_ALLOCATION_FAILURE), so that the job runner's re-plan can be tested through the
/// public surface alone (`import SaegeoCore`, registered with DeviceCatalog(backends:)).
struct TightMemoryBackend: DeviceBackend {
    static let family: String = "tight"
    let family: String = TightMemoryBackend.family
    let displayName = "CPU with less free memory than it reports (tests)"
    let hasNumberedDevices = false
    let limit: Int
    let chunkLimit: Int
    /// Every block's and every chunk's bytes the engines were asked to hold, fitting or not.
    let asked: Locked<[Int]>
    let askedChunks: Locked<[Int]>

    init(limit: Int = .max, chunkLimit: Int = .max, asked: Locked<[Int]> = Locked([]), askedChunks: Locked<[Int]> = Locked([])) {
        self.limit = limit
        self.chunkLimit = chunkLimit
        self.asked = asked
        self.askedChunks = askedChunks
    }

    var devices: [DeviceDescription] { [TightMemoryEngine.describe()] }

    func engine(for id: String) throws -> ComputeEngine { TightMemoryEngine(self) }

    /// The CPU engine's, as its engine declares them.
    func capabilities(for id: String) throws -> DeviceCapabilities { CPUEngine.capabilities() }
}

final class TightMemoryEngine: ComputeEngine {
    private let inner = CPUEngine()
    let settings: TightMemoryBackend
    let device = TightMemoryEngine.describe()
    var capabilities: DeviceCapabilities { inner.capabilities }
    var configurationSummary: String { "the CPU engine under a \(settings.limit)-byte block limit (tests)" }

    init(_ settings: TightMemoryBackend) { self.settings = settings }

    static func describe() -> DeviceDescription {
        let cpu = CPUEngine().device
        return DeviceDescription(id: TightMemoryBackend.family, name: "tight CPU", vendor: "saegeo tests", type: cpu.type,
                                 backend: cpu.backend, globalMemoryBytes: cpu.globalMemoryBytes,
                                 maxAllocationBytes: cpu.maxAllocationBytes, computeUnits: cpu.computeUnits, driverVersion: "none")
    }

    /// Fails as an OpenCL allocation of `rows` does when it needs more than `limit` bytes.
    private func hold(_ rows: UnitRows, _ what: String) throws {
        try hold(bytes: rows.values.count * MemoryLayout<Float>.size, limit: settings.limit, record: settings.asked, what)
    }

    private func hold(bytes: Int, limit: Int, record: Locked<[Int]>, _ what: String) throws {
        record.withLock { $0.append(bytes) }
        guard bytes <= limit else {
            throw SaegeoError(.device, "\(device.id): OpenCL clCreateBuffer failed with CL_MEM_OBJECT_ALLOCATION_FAILURE (-4): \(what) of \(bytes) bytes",
                              code: .openCL(-4))
        }
    }

    func beginQueries(_ queries: UnitRows, candidates: Int) throws {
        try hold(queries, "query block")
        try inner.beginQueries(queries, candidates: candidates)
    }

    func addKeys(_ keys: UnitRows) throws {
        try hold(keys, "key tile")
        try inner.addKeys(keys)
    }

    func finishQueries() throws -> CandidateLists { try inner.finishQueries() }
    func beginAllPairs(features: Int, candidates: Int, seed: CandidateLists?) throws {
        try inner.beginAllPairs(features: features, candidates: candidates, seed: seed)
    }
    func addPairTile(rows: UnitRows, rowOffset: Int, columns: UnitRows, columnOffset: Int) throws {
        try hold(rows, "pair tile")
        try inner.addPairTile(rows: rows, rowOffset: rowOffset, columns: columns, columnOffset: columnOffset)
    }
    func finishAllPairs() throws -> CandidateLists { try inner.finishAllPairs() }
    func setActivations(_ chunk: ActivationChunk) throws {
        try hold(bytes: chunk.values.count * MemoryLayout<Float>.size, limit: settings.chunkLimit, record: settings.askedChunks,
                 "activation chunk")
        try inner.setActivations(chunk)
    }
    func loadEncoderTile(_ tile: EncoderTile) throws { try inner.loadEncoderTile(tile) }
    func reduceEncoderTile(into sums: inout SampleAccumulators) throws { try inner.reduceEncoderTile(into: &sums) }
}
