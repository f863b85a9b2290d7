/// The compile-time parameters of the kernels for one device, chosen from its limits.
/// A pure function of the limits and the device kind, so it is tested without a device.
public struct KernelConfiguration: Sendable, Equatable, CustomStringConvertible {
    public enum Variant: String, Sendable, CaseIterable {
        /// Q and K slices staged in local memory, register tiles (GPUs).
        case localTiled = "tiled"
        /// Rows streamed from global memory with float4 loads (CPU devices such as PoCL).
        case direct
    }

    public let variant: Variant
    public let tile: Int          // TILE_M = TILE_N: rows of Q and of K per work-group
    public let register: Int      // REG_M = REG_N: outputs per work-item along each side
    public let sliceOfD: Int      // TILE_D: columns staged per step
    public let topkGroup: Int     // work-items per query row in the top-k merge

    public init(variant: Variant, tile: Int, register: Int, sliceOfD: Int, topkGroup: Int) {
        self.variant = variant
        self.tile = tile
        self.register = register
        self.sliceOfD = sliceOfD
        self.topkGroup = topkGroup
    }

    public var similarityGroup: Int { (tile / register) * (tile / register) }

    /// Whether the kernels of this configuration can run on a device with these limits: work-groups
    /// within its size, staged slices plus the top-k kernel's 2 KiB within its local memory.
    public func fits(_ limits: DeviceLimits) -> Bool {
        tile % register == 0 && [4, 8, 16].contains(sliceOfD) && similarityGroup <= limits.maxWorkGroupSize
            && topkGroup <= limits.maxWorkGroupSize && topkGroup & (topkGroup - 1) == 0
            && localMemoryBytes + 2048 <= limits.localMemoryBytes
    }
    public var localMemoryBytes: Int { variant == .localTiled ? 2 * sliceOfD * (tile + 1) * 4 : 0 }
    /// Rows of every tile are padded to this, columns (d) to `sliceOfD`.
    public var rowAlignment: Int { tile }

    public var description: String {
        "\(variant.rawValue) tile \(tile) reg \(register) slice \(sliceOfD) topk-group \(topkGroup)"
    }

    /// The launch of `similarity_tile` for S [rows, columns], both padded to `rowAlignment`: each
    /// work-item computes a register block, each group a tile.
    func similarityLaunch(rows: Int, columns: Int) -> (global: [Int], local: [Int]) {
        ([columns / register, rows / register], [tile / register, tile / register])
    }

    func compilerDefines(candidates: Int) -> String {
        "-DTILE_M=\(tile) -DTILE_N=\(tile) -DREG_M=\(register) -DREG_N=\(register) -DTILE_D=\(sliceOfD) "
            + "-DUSE_LOCAL=\(variant == .localTiled ? 1 : 0) -DTOPK_GROUP=\(topkGroup) -DCANDIDATES=\(candidates)"
    }

    /// The largest configuration of the variant that fits the limits: work-group sizes within
    /// `maxWorkGroupSize` (also for the compiled kernel, passed in as `kernelGroupLimit` on a
    /// second try) and staged slices within the local memory.
    public static func choose(for limits: DeviceLimits, kind: DeviceKind, variant requested: Variant? = nil,
                              kernelGroupLimit: Int = .max) throws -> KernelConfiguration {
        let variant = requested ?? (kind == .cpu ? .direct : .localTiled)
        let groupLimit = min(limits.maxWorkGroupSize, kernelGroupLimit)
        // Largest tile first; each candidate is (tile, register). The direct variant keeps 2 x 2
        // outputs per work-item: `saegeo tune` measured it 3.5x faster than 4 x 4 on PoCL.
        let shapes: [(Int, Int)] = variant == .localTiled
            ? [(64, 4), (64, 8), (32, 4), (32, 8), (16, 4), (16, 8), (8, 4), (8, 8), (4, 4)]
            : [(64, 2), (32, 2), (16, 2), (8, 2), (4, 2), (4, 4)]
        for (tile, register) in shapes {
            let group = (tile / register) * (tile / register)
            guard group <= groupLimit else { continue }
            // The direct variant streams float4s and stages nothing: its slice only pads d, so the least.
            for slice in variant == .direct ? [4] : [16, 8, 4] {
                let config = KernelConfiguration(variant: variant, tile: tile, register: register, sliceOfD: slice,
                                                 topkGroup: largestPowerOfTwo(atMost: min(256, groupLimit)))
                // Keep 2 KiB of local memory for the top-k kernel's histogram and counters.
                if config.localMemoryBytes + 2048 <= limits.localMemoryBytes { return config }
            }
        }
        throw SaegeoError.device("no kernel configuration fits a work-group limit of \(groupLimit) and \(limits.localMemoryBytes) bytes of local memory; use --device cpu")
    }

    static func largestPowerOfTwo(atMost n: Int) -> Int {
        var p = 1
        while p * 2 <= n { p *= 2 }
        return p
    }
}
