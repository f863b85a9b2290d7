import Foundation

extension ScoreJob {
    /// Writes the scores of the manifest's samples into the job's output; a shard also gets its
    /// manifest (inside a .safetensors output, beside a .jsonl / .csv one as OUT.shard.json).
    func write(_ result: DatasetScorer.Result, proximity: ToxicProximity.Result, manifest: ShardManifest, job: Job) throws {
        var manifest = manifest
        let lower = format
        if lower.hasSuffix(".safetensors") {
            let tensors: [OutputTensor] = [
                .float32("scores", shape: [result.scores.count], result.scores),
                .int64("active", shape: [result.active.count], result.active),
            ]
            try job.write(tensors, manifest: manifest, to: output)
            return
        }
        var checksum = Checksum()
        checksum.add(manifest.identity)
        // A whole run's lines carry each sample's percentile; a shard's do not, as it sees only
        // its own samples: merge adds them, byte-identical to this (ScorePercentiles).
        let percentiles = manifest.shard == nil ? ScorePercentiles.of(result.scores) : nil
        let percentile = { (i: Int) in percentiles.map { (lower.hasSuffix(".csv") ? "," : ", \"percentile\": ") + ScorePercentiles.text($0[i]) } ?? "" }
        try job.write(output) { handle in
            var text = lower.hasSuffix(".csv") ? (percentiles == nil ? ScoreLines.csvHeader : ScorePercentiles.csvHeader) + "\n" : ""
            func flush() throws {
                let bytes = Data(text.utf8)
                checksum.add(bytes)
                try handle.write(contentsOf: bytes)
                text = ""
            }
            for (i, score) in result.scores.enumerated() {
                let sample = manifest.range.lowerBound + i
                text += lower.hasSuffix(".csv")
                    ? "\(sample),\(score),\(result.active[i])\(percentile(i))\n"
                    : "{\"sample\": \(sample), \"score\": \(score), \"active\": \(result.active[i])\(percentile(i))"
                        + (explain > 0 ? ", \"explain\": [" + result.explanations[i].map {
                            "{\"feature\": \($0.feature), \"activation\": \($0.activation), \"proximity\": \(proximity.proximity[$0.feature]), \"nearest_toxic\": \(proximity.nearestToxic[$0.feature])}"
                        }.joined(separator: ", ") + "]" : "") + "}\n"
                if text.utf8.count > 1 << 20 { try flush() }
            }
            try flush()
        }
        guard manifest.shard != nil else { return }
        manifest.checksum = checksum.description
        try job.write(ShardManifest.path(besides: output)) { try $0.write(contentsOf: manifest.json) }
    }
}
