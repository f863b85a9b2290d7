import Foundation

/// One shard of a job split N ways (`--shard I/N`, 0-based, or `--shard slurm` from a Slurm job
/// array's SLURM_ARRAY_TASK_ID / SLURM_ARRAY_TASK_COUNT): a deterministic, balanced, contiguous
/// share of the work, the same however and wherever the shard runs.
public struct ShardSpec: Sendable, Equatable, CustomStringConvertible {
    public let index: Int
    public let count: Int

    public init(index: Int, count: Int) throws {
        guard count >= 1, index >= 0, index < count else {
            throw SaegeoError(.usage, "shard \(index)/\(count) is not a shard: use I/N with 0 <= I < N")
        }
        self.index = index
        self.count = count
    }

    public static func parse(_ text: String, environment: [String: String] = ProcessInfo.processInfo.environment) throws -> ShardSpec {
        if text == "slurm" {
            guard let id = environment["SLURM_ARRAY_TASK_ID"].flatMap(Int.init),
                  let count = environment["SLURM_ARRAY_TASK_COUNT"].flatMap(Int.init) else {
                throw SaegeoError(.usage, "--shard slurm needs SLURM_ARRAY_TASK_ID and SLURM_ARRAY_TASK_COUNT; run it inside an sbatch --array job")
            }
            // Arrays may start above 0 (--array=1-4): count from the first task.
            let first = environment["SLURM_ARRAY_TASK_MIN"].flatMap(Int.init) ?? 0
            return try ShardSpec(index: id - first, count: count)
        }
        let parts = text.split(separator: "/")
        guard parts.count == 2, let index = Int(parts[0]), let count = Int(parts[1]) else {
            throw SaegeoError(.usage, "--shard \(text): write I/N (e.g. 0/4) or slurm")
        }
        return try ShardSpec(index: index, count: count)
    }

    public var description: String { "\(index)/\(count)" }

    /// This shard's items of `total`: contiguous, sizes differing by at most one.
    public func range(of total: Int) -> Range<Int> {
        // In 128 bits: a product of user numbers must not trap.
        Int(Int128(total) * Int128(index) / Int128(count))..<Int(Int128(total) * Int128(index + 1) / Int128(count))
    }
}
