import Foundation
import Testing
@testable import SaegeoCore

/// The plan owns device memory: on every OpenCL device, under tiny budgets, the most device
/// memory an engine ever holds at once (its resources object's ledger, which counts every buffer
/// from allocation to release) never exceeds the total of the buffers its plan lists, for each
/// workload: neighbours (queries against keys), all pairs, score, contrast and TopK.
struct PlannedMemoryTests {
    static let budgets = [512 << 10, 1 << 20, 2 << 20, 4 << 20]

    static var devices: [OpenCLDevice] { (try? OpenCLBackend().openCLDevices) ?? [] }

    /// An engine on a resources object of its own, so that the ledger counts its buffers alone
    /// (other suites share the process's resources of the same device).
    static func engine(_ device: OpenCLDevice) throws -> (ComputeEngine, OpenCLDeviceResources) {
        let resources = try OpenCLDeviceResources(device: device)
        return (try OpenCLEngine(resources: resources, overrides: .typicalGPU, variant: .localTiled), resources)
    }

    static func plannerDevice(_ engine: ComputeEngine, budget: Int) -> TilePlanner.Device {
        TilePlanner.Device(id: engine.device.id, capabilities: engine.capabilities,
                           deviceMemory: engine.device.globalMemoryBytes, budget: budget)
    }

    @Test("neighbours and all pairs hold at most their plan's device bytes", arguments: budgets)
    func neighbours(budget: Int) throws {
        // A file of its own per budget: the cases run at once, and one must not rewrite the
        // dictionary another is reading.
        let dictionary = try TestDictionary.make(features: 700, dimension: 72, seed: 41 + UInt64(Self.budgets.firstIndex(of: budget)!))
        for device in Self.devices {
            for (name, queries) in [("neighbours", Array(stride(from: 0, to: 700, by: 3))), ("all pairs", Array(0..<700))] {
                let (engine, resources) = try Self.engine(device)
                let search = try NeighborSearch(dictionary: try dictionary.open(), queries: queries, keys: Array(0..<700),
                                                k: 9, memoryBudget: budget)
                #expect(search.problem.allPairs == (name == "all pairs"))
                let plan = try TilePlanner.plan(search.problem, devices: [Self.plannerDevice(engine, budget: budget)])
                _ = try search.run(on: engine)
                let peak = resources.memory.peakBytes, planned = plan.devices[0].deviceBytes
                #expect(peak > 0 && peak <= planned, "\(device.id) \(name), budget \(budget): peak \(peak) bytes, plan \(planned)")
            }
        }
    }

    @Test("score, TopK and contrast hold at most their plan's device bytes", arguments: budgets)
    func encoder(budget: Int) throws {
        for architecture in ["jumprelu", "topk"] {
            let folder = TestFiles.path("planned-memory-\(architecture)-\(budget)")
            let (saePath, _) = try ContrastTests.sae(architecture, folder: folder)
            // Short samples, so that no chunk holds more rows than the plan's chunk.
            let starts = Array(stride(from: 0, through: 600, by: 5))
            _ = try ContrastTests.activations(folder + "/a.safetensors", starts: starts, seed: 3, setA: true)
            _ = try ContrastTests.activations(folder + "/b.safetensors", starts: starts, seed: 4, setA: false)
            let encoder = try SAEEncoder(checkpoint: try SAECheckpoint.open(saePath))
            let a = try ActivationsFile.open(folder + "/a.safetensors", tensor: nil, offsets: "offsets")
            let b = try ActivationsFile.open(folder + "/b.safetensors", tensor: nil, offsets: "offsets")
            for device in Self.devices {
                // score (TopK for the topk checkpoint)
                var (engine, resources) = try Self.engine(device)
                var scorer = try DatasetScorer(encoder: encoder, proximity: [Float](repeating: 0.5, count: encoder.features), activations: a)
                try scorer.plan(for: [engine], memoryBudget: budget)
                _ = try scorer.run(on: [engine])
                let scoreProblem = ScorePlanner.Problem(features: encoder.features, dimension: encoder.dimension, topK: encoder.activation.k)
                var planned = TilePlanner.total(ScorePlanner.deviceBuffers(scoreProblem, Self.plannerDevice(engine, budget: budget),
                                                                           rows: scorer.rowChunk, tile: scorer.featureTile))
                var peak = resources.memory.peakBytes
                #expect(peak > 0 && peak <= planned, "\(device.id) \(architecture) score, budget \(budget): peak \(peak) bytes, plan \(planned)")
                #expect(planned <= budget, "\(device.id): the plan fits the budget")

                // contrast (unpaired: the moments' buffers too)
                (engine, resources) = try Self.engine(device)
                var contrast = try DatasetContrast(encoder: encoder, a: a, b: b, paired: false)
                try contrast.plan(for: [engine], memoryBudget: budget)
                _ = try contrast.run(on: [engine])
                var contrastProblem = scoreProblem
                contrastProblem.featureMoments = true
                planned = TilePlanner.total(ScorePlanner.deviceBuffers(contrastProblem, Self.plannerDevice(engine, budget: budget),
                                                                       rows: contrast.rowChunk, tile: contrast.featureTile))
                peak = resources.memory.peakBytes
                #expect(peak > 0 && peak <= planned, "\(device.id) \(architecture) contrast, budget \(budget): peak \(peak) bytes, plan \(planned)")
            }
        }
    }

    @Test("the ledger counts a buffer from allocation to release")
    func ledger() throws {
        guard let device = Self.devices.first else { return }
        let resources = try OpenCLDeviceResources(device: device)
        var buffers = [try resources.buffer(bytes: 1000, label: "a"), try resources.buffer(bytes: 500, label: "b")]
        #expect(resources.memory.liveBytes == 1500 && resources.memory.peakBytes == 1500)
        buffers.removeFirst()
        #expect(resources.memory.liveBytes == 500)
        buffers.append(try resources.buffer(bytes: 200, label: "c"))
        #expect(resources.memory.liveBytes == 700 && resources.memory.peakBytes == 1500)
    }
}
