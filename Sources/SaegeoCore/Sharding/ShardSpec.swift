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
        (total * index / count)..<(total * (index + 1) / count)
    }
}

/// A fingerprint of a job's inputs and options, so that a merge can tell which job a shard
/// belongs to: FNV-1a over each input's size and its first and last 64 KiB (headers, and a
/// cheap check on the data), then the options.
public enum JobFingerprint {
    public static func of(files: [String], options: [String]) -> String {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        func mix<S: Sequence>(_ bytes: S) where S.Element == UInt8 {
            for byte in bytes { hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3 }
        }
        for path in files {
            mix(Array(path.utf8))
            guard let handle = FileHandle(forReadingAtPath: path) else { continue }
            defer { try? handle.close() }
            let size = (try? handle.seekToEnd()) ?? 0
            mix(withUnsafeBytes(of: size.littleEndian, Array.init))
            try? handle.seek(toOffset: 0)
            mix((try? handle.read(upToCount: 1 << 16)) ?? Data())
            if size > 1 << 17 {
                try? handle.seek(toOffset: size - (1 << 16))
                mix((try? handle.read(upToCount: 1 << 16)) ?? Data())
            }
        }
        for option in options { mix(Array(option.utf8)); mix([0]) }
        return String(hash, radix: 16)
    }
}
