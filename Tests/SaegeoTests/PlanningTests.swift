import Testing
@testable import SaegeoCore

/// The pure parts: kernel configurations and tiling honour every limit they are given.
struct PlanningTests {
    static let limits: [DeviceLimits] = [
        DeviceLimits(globalMemoryBytes: 80 << 30, maxAllocationBytes: 20 << 30, localMemoryBytes: 48 << 10, maxWorkGroupSize: 1024),
        DeviceLimits(globalMemoryBytes: 80 << 30, maxAllocationBytes: 20 << 30, localMemoryBytes: 100 << 10, maxWorkGroupSize: 256),
        DeviceLimits(globalMemoryBytes: 3_996_804_096, maxAllocationBytes: 1 << 30, localMemoryBytes: 1 << 20, maxWorkGroupSize: 4096),
        DeviceLimits(globalMemoryBytes: 1 << 30, maxAllocationBytes: 256 << 20, localMemoryBytes: 16 << 10, maxWorkGroupSize: 64),
        DeviceLimits(globalMemoryBytes: 1 << 28, maxAllocationBytes: 1 << 20, localMemoryBytes: 4 << 10, maxWorkGroupSize: 16),
    ]

    @Test("kernel configurations fit the work-group and local-memory limits", arguments: limits)
    func configurationFits(_ limits: DeviceLimits) throws {
        for kind in [DeviceKind.gpu, .cpu] {
            for variant in KernelConfiguration.Variant.allCases {
                let config = try KernelConfiguration.choose(for: limits, kind: kind, variant: variant)
                #expect(config.similarityGroup <= limits.maxWorkGroupSize)
                #expect(config.topkGroup <= limits.maxWorkGroupSize)
                #expect(config.localMemoryBytes + 2048 <= limits.localMemoryBytes)
                #expect(config.tile % config.register == 0)
                #expect([4, 8, 16].contains(config.sliceOfD))
            }
        }
    }

    @Test("GPUs get the local-memory kernels and CPU devices the direct ones by default")
    func defaultVariant() throws {
        let gpu = try KernelConfiguration.choose(for: Self.limits[0], kind: .gpu)
        #expect(gpu.variant == .localTiled)
        #expect(gpu.similarityGroup == 256)
        #expect(try KernelConfiguration.choose(for: Self.limits[2], kind: .cpu).variant == .direct)
    }

    @Test("no configuration at all is a clear error")
    func impossibleLimits() {
        let tiny = DeviceLimits(globalMemoryBytes: 1 << 20, maxAllocationBytes: 1 << 16, localMemoryBytes: 512, maxWorkGroupSize: 8)
        #expect(throws: SaegeoError.self) { try KernelConfiguration.choose(for: tiny, kind: .gpu) }
    }
}

/// The tile planner: a pure function of shape, limits and budget.
struct TilePlannerTests {
    static func device(_ id: String, memory: Int, allocation: Int, align: Int = 64, host: Bool = false) -> TilePlanner.Device {
        let layout = TileLayout(rowAlignment: align, dimensionAlignment: 16, maxAllocationBytes: allocation)
        var capabilities = host ? CPUEngine.capabilities() : OpenCLEngine.capabilities(layout: layout)
        capabilities.layout = layout
        return TilePlanner.Device(id: id, capabilities: capabilities, memoryBytes: memory)
    }

    static let devices: [TilePlanner.Device] = [
        device("gpu-80g", memory: 80 << 30, allocation: 20 << 30),
        device("pocl", memory: 3_996_804_096, allocation: 1 << 30),
        device("gpu-budget-1g", memory: 1 << 30, allocation: 20 << 30),
        device("tiny", memory: 4 << 20, allocation: 1 << 20),
        device("cpu-4m", memory: 4 << 20, allocation: .max, align: 1, host: true),
        device("cpu-1g", memory: 1 << 30, allocation: .max, align: 1, host: true),
    ]

    static let problems: [TilePlanner.Problem] = [
        .init(queries: 1024, keys: 131_072, dimension: 4608, k: 32, candidates: 40, allPairs: false),
        .init(queries: 7, keys: 1000, dimension: 300, k: 5, candidates: 13, allPairs: false),
        .init(queries: 20_000, keys: 20_000, dimension: 64, k: 16, candidates: 24, allPairs: true),
        .init(queries: 1_048_576, keys: 1_048_576, dimension: 2304, k: 32, candidates: 40, allPairs: true),
    ]

    @Test("plans honour the memory and the largest allocation, or fail naming the budget that would work",
          arguments: devices)
    func honoursLimits(_ device: TilePlanner.Device) throws {
        for problem in Self.problems {
            do {
                let plan = try TilePlanner.plan(problem, devices: [device])
                let p = plan.devices[0]
                #expect(p.buffers.allSatisfy { $0.bytes <= device.layout.maxAllocationBytes }, "\(device.id) \(problem)")
                #expect(p.deviceBytes + (device.isHost ? TilePlanner.stagingBytes(problem, device, keyTile: p.keyTile) : 0)
                        <= device.memoryBytes, "\(device.id) \(problem)")
                #expect(p.keyTile % device.layout.rowAlignment == 0 && p.keyTile >= 1 && p.queryBlock >= 1)
            } catch let error as SaegeoError where error.message.contains("largest allocation") {
                // Some buffer of even the smallest tiles exceeds the allocation limit: no budget helps.
                #expect(error.message.contains(device.id))
            } catch let error as SaegeoError {
                // The error names a budget; planning with it must then succeed.
                let digits = error.message.split(separator: " ").compactMap { Int($0) }
                let needed = try #require(digits.last, "no byte count in: \(error.message)")
                var bigger = device
                bigger.memoryBytes = needed
                #expect(throws: Never.self, "\(device.id): \(error.message)") { try TilePlanner.plan(problem, devices: [bigger]) }
                #expect(needed > device.memoryBytes)
            }
        }
    }

    @Test("a budget too small for anything is a clear error")
    func tooSmall() {
        let problem = TilePlanner.Problem(queries: 10, keys: 100, dimension: 4608, k: 5, candidates: 13, allPairs: false)
        #expect {
            try TilePlanner.plan(problem, devices: [Self.device("d", memory: 64 << 10, allocation: 1 << 30)])
        } throws: { ($0 as? SaegeoError)?.message.contains("--memory-budget") == true }
    }

    @Test("all-pairs FLOPs count each pair of tiles once: about n*n*d, not 2*n*n*d")
    func symmetricFlops() throws {
        let n = 16384, d = 2304
        let problem = TilePlanner.Problem(queries: n, keys: n, dimension: d, k: 16, candidates: 24, allPairs: true)
        let plan = try TilePlanner.plan(problem, devices: [Self.device("gpu", memory: 80 << 30, allocation: 20 << 30)])
        let ratio = plan.flops / (Double(n) * Double(n) * Double(d))
        #expect(ratio >= 1 && ratio < 1.3)
        var plain = problem
        plain.allPairs = false
        let full = try TilePlanner.plan(plain, devices: [Self.device("gpu", memory: 80 << 30, allocation: 20 << 30)])
        #expect(full.flops == 2 * Double(n) * Double(n) * Double(d))
    }

    @Test("byte counts parse with binary and decimal suffixes")
    func byteCounts() throws {
        #expect(try ByteCount.parse("4MiB") == 4 << 20)
        #expect(try ByteCount.parse("1GiB") == 1 << 30)
        #expect(try ByteCount.parse("512KiB") == 512 << 10)
        #expect(try ByteCount.parse("1.5GiB") == 3 << 29)
        #expect(try ByteCount.parse("4096") == 4096)
        #expect(try ByteCount.parse("2GB") == 2_000_000_000)
        #expect(throws: SaegeoError.self) { try ByteCount.parse("lots") }
        #expect(throws: SaegeoError.self) { try ByteCount.parse("-5MiB") }
    }
}
