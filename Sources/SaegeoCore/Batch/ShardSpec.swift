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
            guard let id = environment["SLURM_ARRAY_TASK_ID"].flatMap(DecimalNumber.int),
                  let count = environment["SLURM_ARRAY_TASK_COUNT"].flatMap(DecimalNumber.int) else {
                throw SaegeoError(.usage, "--shard slurm needs SLURM_ARRAY_TASK_ID and SLURM_ARRAY_TASK_COUNT; run it inside an sbatch --array job")
            }
            // Arrays may start above 0 (--array=1-4): count from the first task.
            let first = environment["SLURM_ARRAY_TASK_MIN"].flatMap(DecimalNumber.int) ?? 0
            return try ShardSpec(index: id - first, count: count)
        }
        let parts = text.split(separator: "/")
        guard parts.count == 2, let index = DecimalNumber.int(parts[0]), let count = DecimalNumber.int(parts[1]) else {
            throw SaegeoError(.usage, "--shard \(text): write I/N (e.g. 0/4) or slurm")
        }
        return try ShardSpec(index: index, count: count)
    }

    public var description: String { "\(index)/\(count)" }

    /// Refuses, before any work, more shards than the job has items: a shard past the last item
    /// would write an empty output with exit status 0, which looks like finished work. The
    /// commands call this as soon as they know the number of items (queries, chunks of samples).
    public func requireWork(items: Int, unit: String) throws {
        guard count > max(items, 1) else { return }
        throw SaegeoError(.usage, "--shard \(self): the job has \(items) \(unit), so at most \(max(items, 1)) shards have work; split it into at most \(max(items, 1)) shards")
    }

    /// This shard's items of `total`: contiguous, sizes differing by at most one.
    public func range(of total: Int) -> Range<Int> {
        // In 128 bits: a product of user numbers must not trap.
        Int(Int128(total) * Int128(index) / Int128(count))..<Int(Int128(total) * Int128(index + 1) / Int128(count))
    }
}
