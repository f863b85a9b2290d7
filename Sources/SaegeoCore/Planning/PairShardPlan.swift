/// Sharded all pairs (`neighbors --queries all --keys all --shard I/N`): the single run's symmetric
/// schedule, cut among N shards instead of computed twice. The live features are cut into tiles
/// T_0..T_t-1 and the pairs (I, J >= I) are listed row by row; each shard takes a contiguous run of
/// that list holding about 1/N of the work, so that the shards together do the arithmetic of one
/// run. A pure function of (live features, tile, N): every shard, on any machine and any device,
/// computes the same assignment, and `merge` recomputes it to check the shards' ranges.
///
/// The tile is not the device's choice (a device-planned tile would let shards on different
/// machines cut the dictionary differently): it follows from the dictionary's size and N alone
/// (`tileSize`), and every shard records it in its manifest.
public struct PairShardPlan: Sendable, Equatable {
    /// Live features, tiled in id order.
    public let features: Int
    public let tile: Int
    public let shards: Int

    public struct Pair: Sendable, Hashable {
        public let row: Int
        public let column: Int
    }

    public init(features: Int, tile: Int, shards: Int) {
        precondition(features >= 0 && tile >= 1 && shards >= 1, "a pair plan needs a tile and a shard")
        self.features = features
        self.tile = tile
        self.shards = shards
        var pairs: [Pair] = [], starts: [Int] = []
        let tiles = (features + tile - 1) / tile
        pairs.reserveCapacity(tiles * (tiles + 1) / 2)
        var work = 0
        for row in 0..<tiles {
            for column in row..<tiles {
                pairs.append(Pair(row: row, column: column))
                starts.append(work)
                work += Self.work(rows: min(tile, features - row * tile), columns: min(tile, features - column * tile),
                                  diagonal: row == column)
            }
        }
        self.pairs = pairs
        self.starts = starts
        totalWork = work
    }

    /// Every pair (I, J >= I), row by row.
    public let pairs: [Pair]
    /// The work before each pair, in half products.
    private let starts: [Int]
    /// The work of all pairs, in half products: the unit of the balance.
    public let totalWork: Int

    /// Work in half products: 2 r c for a pair of tiles, r r for a tile against itself (only its
    /// upper triangle is needed: half a full tile).
    static func work(rows: Int, columns: Int, diagonal: Bool) -> Int {
        diagonal ? rows * rows : 2 * rows * columns
    }

    public var tiles: Int { (features + tile - 1) / tile }

    /// Positions (in the live features) of tile `index`.
    public func tileRange(_ index: Int) -> Range<Int> { (index * tile)..<min(features, (index + 1) * tile) }

    public func work(of pair: Pair) -> Int {
        Self.work(rows: tileRange(pair.row).count, columns: tileRange(pair.column).count, diagonal: pair.row == pair.column)
    }

    /// The pairs (indices into `pairs`) of shard `index`: those whose work starts in its Nth of the
    /// total, [ceil(i W / N), ceil((i + 1) W / N)). A shard's work is therefore within one pair's
    /// work (at most 2 tile^2) of W / N.
    public func range(ofShard index: Int) -> Range<Int> {
        func cut(_ i: Int) -> Int {
            // The first pair starting at or past ceil(i W / N); 128 bits so that no product traps.
            let bound = Int((Int128(totalWork) * Int128(i) + Int128(shards) - 1) / Int128(shards))
            var low = 0, high = pairs.count
            while low < high {
                let mid = (low + high) / 2
                if starts[mid] < bound { low = mid + 1 } else { high = mid }
            }
            return low
        }
        return cut(index)..<(index + 1 == shards ? pairs.count : cut(index + 1))
    }

    /// The work of shard `index`, in half products.
    public func work(ofShard index: Int) -> Int {
        range(ofShard: index).reduce(0) { $0 + work(of: pairs[$1]) }
    }

    /// The tile for N shards of a dictionary of `features` features: small enough that there are
    /// about 8 pairs per shard, as large as possible beyond that (larger products run faster, and
    /// the candidate lists of fewer, larger pairs stay warm longer), a multiple of 64 rows (a GPU's
    /// tile alignment), between 64 and 4096 (the single run's largest tile). A shard is within one
    /// pair's work, 2 s^2 of n^2 / N half products, of its share: with t tiles (t^2 about 16 N)
    /// within 2 N / t^2, about 1/8 (6% at 16384 features and 4 to 64 shards); for small
    /// dictionaries, whose tile the rounding to 64 rows enlarges, within 1/4 (the tests check it).
    public static func tileSize(features: Int, shards: Int) -> Int {
        // t(t + 1) / 2 >= 16 N, in floating point: N comes from the user and may be huge (the
        // smallest tile, 64, is reached long before t passes the features / 64 tiles it can use).
        let pairsWanted = 8 * Double(max(1, shards))
        let tiles = min(Double(max(features, 1)), (((8 * pairsWanted + 1).squareRoot() - 1) / 2).rounded(.up))
        let size = (Double(max(features, 1)) / max(1, tiles)).rounded(.up)
        return min(4096, max(64, (Int(size) + 63) / 64 * 64))
    }

    /// The most shards a dictionary of `features` features can keep busy: its tile pairs at the
    /// smallest tile. More would leave shards without work: the command refuses them.
    public static func maxShards(features: Int) -> Int {
        let tiles = (max(features, 1) + 63) / 64
        return tiles * (tiles + 1) / 2
    }
}

extension TilePlanner {
    /// The all-pairs plan with the tile a sharded job fixed (not the devices' choice), checked
    /// against every device: each buffer within its largest allocation, all within its budget.
    public static func plan(_ problem: Problem, devices: [Device], fixedTile tile: Int) throws -> Plan {
        precondition(problem.allPairs && !devices.isEmpty, "a fixed tile is for all pairs on some device")
        for device in devices where !allPairsFits(problem, device, tile: tile) {
            let buffers = allPairsBuffers(problem, device, tile: tile)
            let staging = device.isHost
                ? (device.capabilities.stagedKeyTiles + 1) * tile * roundUp(problem.dimension, to: device.layout.dimensionAlignment) * 4 : 0
            throw tooSmall(problem, device, bytes: total(buffers) + staging, largest: buffers.map(\.bytes).max()!)
        }
        return Plan(problem: problem, devices: devices.map { allPairsPlan(problem, $0, tile: tile) })
    }
}
