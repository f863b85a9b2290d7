/// The part of the job runner every sharded workload shares: its checkpoint blocks (saved as they
/// finish, so that a shard stopped by SIGTERM resumes), the shard's tensors written with their
/// manifest, and the commit that publishes the outputs and then drops the checkpoint.
struct ShardRun {
    let checkpoint: ShardCheckpoint
    let events: JobEvents

    /// The run of `job` (the fingerprint plus whatever tells its shards apart) beside `output`.
    init(output: String, job: String, events: JobEvents) {
        checkpoint = ShardCheckpoint(output: output, job: job)
        self.events = events
    }

    /// The directory of the checkpoint blocks (named in messages).
    var directory: String { checkpoint.directory }

    /// Computes `items` block by block, reusing every saved block that checks out (ShardCheckpoint).
    func blocks(items: Int, blockSize: Int, unit: String, holds: ([OutputTensor], Range<Int>) -> Bool,
                absorb: ([OutputTensor]) throws -> Void = { _ in },
                joining: @escaping (OutputTensor) -> Bool = { _ in true },
                compute: (Range<Int>) throws -> [OutputTensor]) throws -> [OutputTensor] {
        try checkpoint.run(items: items, blockSize: blockSize, unit: unit, log: events.log, holds: holds,
                           absorb: absorb, joining: joining, compute: compute)
    }

    /// Publishes the job's outputs together, then removes the blocks they no longer need.
    func commit(_ job: Job) throws {
        try job.commit()
        try checkpoint.discard()
    }
}

extension Job {
    /// Writes tensors as .safetensors at `path` with the manifest that lets merge check them.
    func write(_ tensors: [OutputTensor], manifest: ShardManifest, to path: String) throws {
        var manifest = manifest
        manifest.checksum = manifest.checksum(of: tensors)
        try write(path) { try SafetensorsWriter.write(tensors, metadata: manifest.metadata, into: $0) }
    }
}
