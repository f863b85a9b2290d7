import Foundation

extension ExampleJob {
    /// Two labelled activation sets for `contrast`, as a user would make them from a few hundred
    /// labelled texts: "toxic" samples whose tokens each carry one toxic feature (with two plain
    /// ones), and "ordinary" samples of plain features only. Returns their paths.
    public func writeLabelledSets(samples: Int = 200, seed: UInt64 = 11, to folder: String) throws -> (toxic: String, ordinary: String) {
        let n = size.features
        let firstPlain = size.toxic + size.toxic * size.neighboursPerToxic
        let paths = (folder + "/labelled-toxic.safetensors", folder + "/labelled-ordinary.safetensors")
        let job = try Job("generate", inputs: [], outputs: [("the toxic set", paths.0), ("the ordinary set", paths.1)])
        var rng = SeededGenerator(seed: seed)
        for (path, toxicTokens) in [(paths.0, true), (paths.1, false)] {
            let rows = mixedRows(samples: samples, rng: &rng) { slot, rng in
                toxicTokens && slot == 0 ? Int(rng.next() % UInt64(size.toxic))
                    : firstPlain + Int(rng.next() % UInt64(n - firstPlain))
            }
            try job.write(path) {
                try SafetensorsWriter.write(activationTensors(rows, samples: samples), metadata: [:], into: $0)
            }
        }
        try job.commit()
        return paths
    }

    /// Token rows made as the example's samples are: each of `samples` x tokens rows mixes three
    /// planted features (`feature(slot, &rng)` picks each slot's) with scales 1 to 2, plus a little
    /// noise.
    func mixedRows(samples: Int, rng: inout SeededGenerator,
                   feature: (Int, inout SeededGenerator) -> Int) -> [Float] {
        let d = size.dimension
        var rows = [Float](repeating: 0, count: samples * size.tokens * d)
        for r in 0..<(samples * size.tokens) {
            for slot in 0..<3 {
                let f = feature(slot, &rng)
                let scale = Float(1 + Double(rng.next() % 100) / 100)
                for i in 0..<d { rows[r * d + i] += scale * planted.values[f * d + i] }
            }
            for i in 0..<d { rows[r * d + i] += Float(rng.gaussian() * 0.02) }
        }
        return rows
    }

    /// `activations` and `offsets` of an activation file of `samples` samples of this job's tokens.
    func activationTensors(_ rows: [Float], samples: Int) -> [OutputTensor] {
        [.float32("activations", shape: [samples * size.tokens, size.dimension], rows),
         .int64("offsets", shape: [samples + 1], (0...samples).map { Int64($0 * size.tokens) })]
    }

    /// The dataset's planted risky samples and the rest, as two activation files: what the
    /// paper's measurement contrasts. Returns their paths.
    public func writeRiskySplit(to folder: String) throws -> (risky: String, rest: String) {
        let data = try ActivationsFile.open(activationsPath, tensor: nil, offsets: "offsets")
        let d = size.dimension
        let paths = (folder + "/risky.safetensors", folder + "/rest.safetensors")
        let job = try Job("generate", inputs: [activationsPath], outputs: [("the risky samples", paths.0), ("the rest", paths.1)])
        for (path, wanted) in [(paths.0, true), (paths.1, false)] {
            let chosen = (0..<data.samples).filter { risky.contains($0) == wanted }
            var rows: [Float] = [], offsets: [Int64] = [0]
            var row = [Float](repeating: 0, count: d)
            for s in chosen {
                for r in data.sampleStarts[s]..<data.sampleStarts[s + 1] {
                    row.withUnsafeMutableBufferPointer { data.rows.copyFeature(r, into: $0.baseAddress!) }
                    rows += row
                }
                offsets.append(Int64(rows.count / d))
            }
            try job.write(path) {
                try SafetensorsWriter.write([
                    .float32("activations", shape: [rows.count / d, d], rows),
                    .int64("offsets", shape: [offsets.count], offsets),
                ], metadata: [:], into: $0)
            }
        }
        try job.commit()
        return paths
    }
}
