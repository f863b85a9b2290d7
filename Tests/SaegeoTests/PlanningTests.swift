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

    @Test("tiles stay within the largest allocation and cover the problem", arguments: [
        (1, 1, 1), (7, 1000, 600), (2048, 65536, 2304), (131072, 131072, 4608), (1_048_576, 1_048_576, 2304),
    ])
    func tilingWithinAllocation(_ shape: (Int, Int, Int)) throws {
        let (queries, keys, dimension) = shape
        for maxAllocation in [20 << 30, 1 << 30, 8 << 20] {
            for align in [1, 16, 64] {
                let layout = TileLayout(rowAlignment: align, dimensionAlignment: 16, maxAllocationBytes: maxAllocation)
                let plan = try SearchTiling.plan(queries: queries, keys: keys, dimension: dimension, candidates: 40, layout: layout)
                let queryCapacity = (plan.queryBlock + align - 1) / align * align
                #expect(plan.keyTile % align == 0 && plan.queryBlock >= 1 && plan.queryBlock <= max(queries, 1))
                #expect(plan.keyTile * plan.stride * 4 <= maxAllocation)
                #expect(queryCapacity * plan.stride * 4 <= maxAllocation)
                #expect(queryCapacity * plan.keyTile * 4 <= maxAllocation)
                #expect(plan.queryBlock * 40 * 4 <= maxAllocation)
                #expect(plan.stride >= dimension && plan.stride % 16 == 0)
            }
        }
    }

    @Test("a tile that cannot fit the allocation limit is a clear error")
    func tilingTooSmall() {
        let layout = TileLayout(rowAlignment: 64, dimensionAlignment: 16, maxAllocationBytes: 1 << 16)
        #expect(throws: SaegeoError.self) {
            try SearchTiling.plan(queries: 10, keys: 10, dimension: 4608, candidates: 40, layout: layout)
        }
    }
}
