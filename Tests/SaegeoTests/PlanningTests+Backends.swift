import Testing
@testable import SaegeoCore

/// What backends declare to the planner before any engine exists.
extension PlanningTests {
    @Test("every device's declared capabilities and description are its engine's, under any settings")
    func declaredCapabilitiesAreTheEngines() throws {
        let settings: [(overrides: LimitOverrides, variant: KernelConfiguration.Variant?, allocation: Int?)] = [
            (.init(), nil, nil), (.typicalGPU, .localTiled, 1 << 20),
            (LimitOverrides(localMemoryBytes: 8 << 10, maxWorkGroupSize: 32), .direct, 256 << 10),
        ]
        var checked = 0
        for (overrides, variant, allocation) in settings {
            let catalog = TestBackends.catalog(overrides: overrides, variant: variant, maxAllocation: allocation)
            for id in catalog.descriptions.map(\.id) {
                let engine = try catalog.engine(for: id)
                #expect(try catalog.capabilities(for: id) == engine.capabilities, "\(id) \(overrides) \(String(describing: variant))")
                #expect(try catalog.description(of: id) == engine.device, "\(id) \(overrides)")
                if let allocation { #expect(engine.capabilities.layout.maxAllocationBytes <= allocation, "\(id)") }
                checked += 1
            }
        }
        #expect(checked >= 6, "the CPU and the float64 backend at least, under each setting")
        #expect(throws: SaegeoError.self) { try TestBackends.catalog().capabilities(for: "cpu:7") }
    }

    @Test("an assumed GPU is planned as the OpenCL engine would run on typical GPU limits; the CPU drives none")
    func assumedGPU() throws {
        let catalog = try DeviceCatalog.standard()
        let gpu = try #require(catalog.assumedGPU(maxAllocationBytes: 3 << 30))
        // The default kernels on 48 KiB of local memory and 256 work-items: 64-row tiles, 16-float rows.
        let kernels = try KernelConfiguration.choose(for: DeviceLimits(globalMemoryBytes: .max, maxAllocationBytes: 3 << 30,
                                                                       localMemoryBytes: 48 << 10, maxWorkGroupSize: 256), kind: .gpu)
        #expect(gpu.layout == TileLayout(rowAlignment: 64, dimensionAlignment: 16, maxAllocationBytes: 3 << 30))
        #expect(gpu.layout.rowAlignment == kernels.rowAlignment && gpu.layout.dimensionAlignment == kernels.sliceOfD)
        #expect(!gpu.buffersInHostMemory && gpu.streamedTileBuffers == 2 && gpu.candidateBuffers == 4 && gpu.stagedKeyTiles == 3)
        #expect(CPUBackend().assumedGPU(maxAllocationBytes: 1 << 30) == nil)
        #expect(DeviceCatalog(backends: [CPUBackend()]).assumedGPU(maxAllocationBytes: 1 << 30) == nil)
    }

    @Test("device messages list the forms of the registered backends: the standard ones as ever, a plug-in's too")
    func deviceFormsComeFromTheBackends() throws {
        func message(_ catalog: DeviceCatalog, _ spec: String) -> String {
            do { _ = try catalog.resolve(spec); return "resolved" } catch { return (error as? SaegeoError)?.message ?? "\(error)" }
        }
        let standard = try DeviceCatalog.standard()
        #expect(message(standard, "bogus") == "unknown device 'bogus'; use auto, cpu, opencl:N, opencl:all or a comma-separated list (run 'saegeo devices' to list them)")
        #expect(message(standard, ",") == "no device given; use auto, cpu or opencl:N")
        let plugIn = DeviceCatalog(backends: [CPUBackend(), Float64Backend()])
        #expect(message(plugIn, "bogus") == "unknown device 'bogus'; use auto, cpu, f64 or a comma-separated list (run 'saegeo devices' to list them)")
        #expect(message(plugIn, ",") == "no device given; use auto, cpu or f64")
        #expect(try plugIn.resolve("f64,cpu") == ["f64", "cpu"])
    }
}
