import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A shard's progress, saved block by block in a folder next to its output (`OUT.checkpoint/`),
/// so that a shard stopped by SIGTERM (Slurm's preemption and time-limit signal) resumes where it
/// stopped. The blocks are laid out the same way on every run (item 0 on, `blockSize` items
/// each); each finished block is one safetensors file, written whole or not at all, holding that
/// block's rows of the output tensors, the exact range it covers and a checksum of the job, the
/// range and the tensors. A resumed run uses a block only when all of that checks out, and
/// computes every other block (with a warning for one that fails). Every item's result is
/// independent of the blocks around it, so the output is bit-identical to a run never stopped.
public struct ShardCheckpoint {
    public let directory: String
    /// The job fingerprint plus the shard: a checkpoint of anything else is not ours.
    public let job: String

    public init(output: String, job: String) {
        directory = output + ".checkpoint"
        self.job = job
    }

    enum Key {
        static let job = "saegeo.job", block = "saegeo.block", checksum = "saegeo.checksum"
    }

    /// The file of the block starting at `start`.
    func path(ofBlockAt start: Int) -> String { String(format: "%@/block-%012d.safetensors", directory, start) }

    /// The checksum a block carries: of the job, its range and its tensors.
    static func checksum(job: String, block: Range<Int>, tensors: [OutputTensor]) -> String {
        ShardManifest(command: .neighbors, job: "block " + job, shard: nil, total: block.upperBound, range: block)
            .checksum(of: tensors)
    }

    /// Why a saved block cannot be used, or its tensors.
    enum Saved {
        case usable([OutputTensor])
        case foreign
        case damaged(String)
        case absent
    }

    /// Reads and checks the saved block for `block`; `holds` says whether tensors hold a block's items.
    func saved(_ block: Range<Int>, holds: ([OutputTensor], Range<Int>) -> Bool) -> Saved {
        let path = path(ofBlockAt: block.lowerBound)
        var info = stat()
        guard lstat(path, &info) == 0 else { return .absent }
        do {
            return check(try SafetensorsFile(path: path), block: block, holds: holds)
        } catch let error as SaegeoError {
            return .damaged(error.message)
        } catch {
            return .damaged("\(error)")
        }
    }

    /// Whether a block file holds exactly `block` of this job, intact.
    func check(_ file: SafetensorsFile, block: Range<Int>, holds: ([OutputTensor], Range<Int>) -> Bool) -> Saved {
        let tensors: [OutputTensor]
        do {
            tensors = try OutputTensor.all(in: file)
        } catch {
            return .damaged((error as? SaegeoError)?.message ?? "\(error)")
        }
        let metadata = file.metadata
        guard let stated = metadata[Key.block].flatMap(ShardManifest.parseRange), let job = metadata[Key.job],
              let checksum = metadata[Key.checksum] else {
            return .damaged("it does not say which job and range it holds")
        }
        guard checksum == Self.checksum(job: job, block: stated, tensors: tensors) else {
            return .damaged("its checksum does not match its contents")
        }
        guard job == self.job else { return .foreign }
        guard stated == block else {
            return .damaged("it holds items \(stated.lowerBound)..<\(stated.upperBound), not \(block.lowerBound)..<\(block.upperBound)")
        }
        guard holds(tensors, block) else { return .damaged("its tensors do not hold those \(block.count) items") }
        return .usable(tensors)
    }

    /// Saves one finished block (atomically: a block is there whole or not at all).
    public func save(block: Range<Int>, tensors: [OutputTensor]) throws {
        try CheckpointFolder.create(directory, job: job)
        try SafetensorsWriter.write(tensors, metadata: [
            Key.job: job, Key.block: "\(block.lowerBound)..<\(block.upperBound)",
            Key.checksum: Self.checksum(job: job, block: block, tensors: tensors),
        ], to: path(ofBlockAt: block.lowerBound))
    }

    /// Removes the checkpoint (once the output is written, or when it is not ours): the files
    /// saegeo wrote in it, then the folder if nothing else is left.
    public func discard() throws {
        try CheckpointFolder.removeOwnFiles(directory)
    }

    /// Checks, before any work, that the checkpoint folder of `output` is absent or saegeo's own
    /// (see CheckpointFolder), so that a shard never computes for an hour and then fails to save.
    public static func checkFolder(besides output: String) throws {
        try CheckpointFolder.check(output + ".checkpoint")
    }

    /// Computes `items` in blocks of `blockSize`, saving each block as it finishes and using the
    /// blocks an earlier run saved where they check out; returns every block's tensors joined
    /// along their first axis. `holds` says whether a block's tensors hold its items. When stopped, it says
    /// how much is saved and how to resume. `absorb` sees every block's tensors in block order,
    /// saved or computed, before the next block is computed (a computation that starts from what
    /// the blocks before it found). Only the tensors `joining` accepts are joined; the others
    /// (sums that are added, not concatenated) reach `absorb` alone, so they never pile up.
    public func run(items: Int, blockSize: Int, unit: String, log: (String) -> Void,
                    holds: ([OutputTensor], Range<Int>) -> Bool,
                    absorb: ([OutputTensor]) throws -> Void = { _ in },
                    joining: @escaping (OutputTensor) -> Bool = { _ in true },
                    compute: (Range<Int>) throws -> [OutputTensor]) throws -> [OutputTensor] {
        try CheckpointFolder.check(directory)
        if items == 0 { return try OutputTensor.joined([compute(0..<0).filter(joining)]) }
        let size = max(1, blockSize)
        let plan = stride(from: 0, to: items, by: size).map { $0..<min(items, $0 + size) }
        var reused: [Int: [OutputTensor]] = [:]
        scan: for block in plan {
            switch saved(block, holds: holds) {
            case .usable(let tensors): reused[block.lowerBound] = tensors
            case .absent: break
            case .damaged(let reason):
                log("checkpoint block \(path(ofBlockAt: block.lowerBound)) cannot be used: \(reason); computing it again")
            case .foreign:
                log("ignoring the checkpoint in \(directory): it belongs to another job (other inputs, options or shard); starting over")
                try CheckpointFolder.removeOwnFiles(directory, keepingFolder: true)
                reused = [:]
                break scan
            }
        }
        var done = plan.filter { reused[$0.lowerBound] != nil }.reduce(0) { $0 + $1.count }
        if done > 0 {
            log("resuming from \(directory): \(done) of \(items) \(unit) were done, \(items - done) to go")
        }
        var blocks: [[OutputTensor]] = []
        for block in plan {
            if let tensors = reused[block.lowerBound] {
                try absorb(tensors)
                blocks.append(tensors.filter(joining))
                continue
            }
            do {
                let tensors = try compute(block)
                try save(block: block, tensors: tensors)
                try absorb(tensors)
                blocks.append(tensors.filter(joining))
                done += block.count
            } catch let error as SaegeoError where error.kind == .interrupted {
                throw SaegeoError(.interrupted, "interrupted; \(done) of \(items) \(unit) are saved in \(directory); run the same command again to resume")
            }
        }
        do {
            return try OutputTensor.joined(blocks)
        } catch let error as SaegeoError {
            throw SaegeoError.badFile("\(directory): \(error.message); delete it and run again")
        }
    }

    /// Blocks of about 2% of the work, at least `minimum` items: a preempted shard loses at most
    /// one block, and a block is large enough to keep a device busy.
    public static func blockSize(items: Int, minimum: Int = 64) -> Int {
        max(minimum, (items + 49) / 50)
    }
}

extension OutputTensor {
    /// Blocks of the same tensors joined along the first axis, matched by name (a file may list
    /// empty tensors in another order: they share an offset).
    static func joined(_ blocks: [[OutputTensor]]) throws -> [OutputTensor] {
        guard let first = blocks.first else { return [] }
        // The tensors in the order of a block without empty ones (whose order in a file is certain).
        let order = blocks.first { $0.allSatisfy { !$0.data.isEmpty } } ?? first
        return try order.map { model in
            var data = Data(), rows = 0
            for block in blocks {
                guard block.count == first.count, let part = block.first(where: { $0.name == model.name }),
                      part.dtype == model.dtype, Array(part.shape.dropFirst()) == Array(model.shape.dropFirst()) else {
                    throw SaegeoError.badFile("the blocks do not fit together (tensor \(model.name) differs)")
                }
                data += part.data
                rows += part.shape.first ?? 0
            }
            return OutputTensor(name: model.name, dtype: model.dtype, shape: [rows] + model.shape.dropFirst(), data: data)
        }
    }

    /// The tensor's elements, when its dtype is `T`'s.
    public func values<T: BitwiseCopyable>(_ type: T.Type) -> [T] {
        data.withUnsafeBytes { raw in
            (0..<raw.count / MemoryLayout<T>.stride).map { raw.loadUnaligned(fromByteOffset: $0 * MemoryLayout<T>.stride, as: T.self) }
        }
    }
}
