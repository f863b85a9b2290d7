import Testing
@testable import SaegeoCore

/// Scoring's plan: a pure function of the encoder's shape, the devices' declared limits and the
/// budget. The row chunk never depends on the devices (shards on other machines cut alike).
struct ScorePlannerTests {
    static func gpu(memory: Int, allocation: Int, rowAlignment: Int = 64) -> TilePlanner.Device {
        let layout = TileLayout(rowAlignment: rowAlignment, dimensionAlignment: 16, maxAllocationBytes: allocation)
        return TilePlanner.Device(id: "gpu", capabilities: OpenCLEngine.capabilities(layout: layout), memoryBytes: memory)
    }

    static let cpu = TilePlanner.Device(id: "cpu", capabilities: CPUEngine.capabilities(), memoryBytes: 16 << 30)
    static let gemma27B = ScorePlanner.Problem(features: 1 << 20, dimension: 5376, topK: 0)
    static let awkward = ScorePlanner.Problem(features: 16_385, dimension: 2_303, topK: 37)

    /// Every device buffer within the device's largest allocation and, together, its memory.
    static func expectFits(_ plan: ScorePlanner.Plan, _ p: ScorePlanner.Problem, _ d: TilePlanner.Device) {
        let buffers = ScorePlanner.deviceBuffers(p, d, rows: plan.rowChunk, tile: plan.featureTile)
        #expect(buffers.allSatisfy { $0.bytes <= d.layout.maxAllocationBytes }, "\(plan) \(buffers)")
        #expect(TilePlanner.total(buffers) <= d.memoryBytes, "\(plan)")
        #expect(plan.featureTile >= 1 && plan.featureTile <= p.features)
    }

    @Test("without a budget: the default chunk and tile, on the CPU and on a PoCL-sized device")
    func defaults() throws {
        let pocl = Self.gpu(memory: 16 << 30, allocation: 4 << 30, rowAlignment: 64)
        // On the CPU alone an encoder that fits is one tile, copied once for the whole run.
        let cpuOnly = try ScorePlanner.plan(Self.awkward, devices: [Self.cpu], budget: nil)
        #expect(cpuOnly == ScorePlanner.Plan(rowChunk: 2048, featureTile: Self.awkward.features))
        for devices in [[pocl], [Self.cpu, pocl]] {
            let plan = try ScorePlanner.plan(Self.awkward, devices: devices, budget: nil)
            #expect(plan == ScorePlanner.Plan(rowChunk: 2048, featureTile: 4096))
            for d in devices where !d.isHost { Self.expectFits(plan, Self.awkward, d) }
        }
        // Fewer features than a tile: one tile of all of them.
        let small = ScorePlanner.Problem(features: 300, dimension: 64, topK: 0)
        #expect(try ScorePlanner.plan(small, devices: [Self.cpu], budget: nil).featureTile == 300)
        // One too large to keep whole keeps the default tile.
        #expect(try ScorePlanner.plan(Self.gemma27B, devices: [Self.cpu], budget: nil).featureTile == 4096)
    }

    @Test("GPU-sized limits: the tile shrinks to the largest allocation, the chunk stays")
    func gpuLimits() throws {
        for allocation in [1 << 30, 256 << 20, 64 << 20] {
            let gpu = Self.gpu(memory: 24 << 30, allocation: allocation)
            let plan = try ScorePlanner.plan(Self.gemma27B, devices: [gpu], budget: nil)
            #expect(plan.rowChunk == 2048)
            Self.expectFits(plan, Self.gemma27B, gpu)
            // The largest tile that fits: twice it would not.
            let twice = ScorePlanner.deviceBuffers(Self.gemma27B, gpu, rows: plan.rowChunk, tile: plan.featureTile * 2)
            #expect(plan.featureTile == 4096 || twice.contains { $0.bytes > allocation })
        }
    }

    @Test("a budget shrinks chunk and tile together, the same for any device set")
    func budgets() throws {
        for budget in [1 << 30, 100 << 20, 7 << 20, 1 << 20] {
            let plan = try ScorePlanner.plan(Self.awkward, devices: [Self.cpu], budget: budget)
            #expect(ScorePlanner.hostBytes(Self.awkward, rows: plan.rowChunk, tile: plan.featureTile) <= budget, "\(budget)")
            // A device with room for its padded buffers (a chunk padded to 64 rows, the per-sample sums).
            let gpu = Self.gpu(memory: 4 * budget, allocation: 4 * budget)
            let withGPU = try ScorePlanner.plan(Self.awkward, devices: [Self.cpu, gpu], budget: budget)
            #expect(withGPU.rowChunk == plan.rowChunk, "the chunk must not depend on the devices")
        }
    }

    @Test("limits too small for the smallest tiles: one error naming what to change")
    func tinyLimits() throws {
        #expect(throws: SaegeoError.self) { try ScorePlanner.plan(Self.gemma27B, devices: [Self.cpu], budget: 64 << 10) }
        // A row chunk of 2048 x 5376 floats is 44 MB: a 1 MiB allocation cannot hold it.
        let tiny = Self.gpu(memory: 1 << 30, allocation: 1 << 20)
        do {
            _ = try ScorePlanner.plan(Self.gemma27B, devices: [tiny], budget: nil)
            Issue.record("a 1 MiB allocation cannot hold a chunk")
        } catch let error as SaegeoError {
            #expect(error.message.hasPrefix("gpu: ") && error.message.contains("--memory-budget"), "\(error.message)")
        }
    }
}
