import Foundation

/// A shard's progress, saved block by block in a folder next to its output (`OUT.checkpoint/`),
/// so that a shard stopped by SIGTERM (Slurm's preemption and time-limit signal) resumes where it
/// stopped. Each finished block of items (queries or samples) is one safetensors file written
/// atomically, holding that block's rows of the output tensors and the job it belongs to; a
/// resumed run keeps the blocks that run on from item 0 and computes the rest. Every item's
/// result is independent of the blocks around it, so the output is bit-identical to a run that
/// was never stopped.
public struct ShardCheckpoint {
    public let directory: String
    /// The job fingerprint plus the shard: a checkpoint of anything else is not ours.
    public let job: String

    public init(output: String, job: String) {
        directory = output + ".checkpoint"
        self.job = job
    }

    /// What the run has to do: the blocks already saved, contiguous from item 0.
    public struct Resumed {
        public var done = 0
        public var blocks: [[OutputTensor]] = []
    }

    /// Reads the saved blocks. A checkpoint of another job or of other inputs (a file changed
    /// since) cannot be trusted: it is removed, with a warning, and the run starts over.
    public func load(warn: (String) -> Void) throws -> Resumed {
        let manager = FileManager.default
        var isDirectory: ObjCBool = false
        guard manager.fileExists(atPath: directory, isDirectory: &isDirectory) else { return Resumed() }
        guard isDirectory.boolValue else {
            throw SaegeoError.io("\(directory) is in the way of this run's checkpoint folder; move it away")
        }
        var saved: [(range: Range<Int>, file: SafetensorsFile)] = []
        for name in try manager.contentsOfDirectory(atPath: directory).sorted() where name.hasSuffix(".safetensors") {
            let path = directory + "/" + name
            guard let file = try? SafetensorsFile(path: path),
                  let start = file.metadata["saegeo.block_start"].flatMap(Int.init),
                  let end = file.metadata["saegeo.block_end"].flatMap(Int.init), start <= end else {
                warn("ignoring the unreadable checkpoint block \(path)")
                continue
            }
            guard file.metadata["saegeo.job"] == job else {
                warn("ignoring the checkpoint in \(directory): it belongs to another job (other inputs, options or shard); starting over")
                try discard()
                return Resumed()
            }
            saved.append((start..<end, file))
        }
        var resumed = Resumed()
        for (range, file) in saved.sorted(by: { $0.range.lowerBound < $1.range.lowerBound }) where range.lowerBound == resumed.done {
            resumed.blocks.append(try OutputTensor.all(in: file))
            resumed.done = range.upperBound
        }
        return resumed
    }

    /// Saves one finished block (atomically: a block is there whole or not at all).
    public func save(block: Range<Int>, tensors: [OutputTensor]) throws {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let name = String(format: "%@/block-%012d.safetensors", directory, block.lowerBound)
        try SafetensorsWriter.write(tensors, metadata: ["saegeo.job": job, "saegeo.block_start": String(block.lowerBound),
                                                        "saegeo.block_end": String(block.upperBound)], to: name)
    }

    /// Removes the checkpoint (once the output is written, or when it is not ours).
    public func discard() throws {
        guard FileManager.default.fileExists(atPath: directory) else { return }
        do {
            try FileManager.default.removeItem(atPath: directory)
        } catch {
            throw SaegeoError.io("cannot remove the checkpoint \(directory): \(error.localizedDescription)")
        }
    }

    /// Computes `items` in blocks of `blockSize`, saving each block as it finishes and skipping
    /// the blocks saved by an earlier run; returns every block's tensors joined along their first
    /// axis. When stopped, it says how much is saved and how to resume.
    public func run(items: Int, blockSize: Int, unit: String, log: (String) -> Void,
                    compute: (Range<Int>) throws -> [OutputTensor]) throws -> [OutputTensor] {
        var resumed = try load(warn: log)
        if resumed.done > items {
            log("ignoring the checkpoint in \(directory): it holds more \(unit) than this run has; starting over")
            try discard()
            resumed = Resumed()
        }
        if resumed.done > 0 {
            log("resuming from \(directory): \(resumed.done) of \(items) \(unit) were done, \(items - resumed.done) to go")
        }
        var blocks = resumed.blocks
        var start = resumed.done
        if items == 0 { blocks.append(try compute(0..<0)) }
        while start < items {
            let block = start..<min(items, start + max(1, blockSize))
            do {
                let tensors = try compute(block)
                try save(block: block, tensors: tensors)
                blocks.append(tensors)
            } catch let error as SaegeoError where error.kind == .interrupted {
                throw SaegeoError(.interrupted, "interrupted; \(start) of \(items) \(unit) are saved in \(directory); run the same command again to resume")
            }
            start = block.upperBound
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
