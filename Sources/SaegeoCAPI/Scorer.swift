import Foundation
import SaegeoCore

/// A streaming scorer: SaegeoCore's StreamingScorer, closed once `finish` has returned a result.
final class ScorerHandle {
    var scorer: StreamingScorer?
    var batches = 0
    init(_ scorer: StreamingScorer) { self.scorer = scorer }

    func open() throws -> StreamingScorer {
        guard let scorer else { throw SaegeoError(.usage, "this scorer has finished and is closed; make a new one") }
        return scorer
    }
}

@_cdecl("saegeo_scorer_new")
public func saegeo_scorer_new(_ sae: UnsafeMutableRawPointer?, _ toxic: UnsafePointer<Int64>?, _ toxicCount: Int64,
                              _ device: UnsafePointer<CChar>?, _ precision: UnsafePointer<CChar>?, _ explain: Int64, _ skipNonFinite: Int32, _ memoryBudget: Int64,
                              _ out: UnsafeMutablePointer<UnsafeMutableRawPointer?>?) -> Int32 {
    Status.run {
        let sae = try Status.object(sae, SAEHandle.self, "sae")
        let out = try Status.required(out, "out_scorer")
        let toxicIds = try Status.required(try Arguments.ids(toxic, toxicCount, role: "toxic"), "toxic")
        let scorer = try StreamingScorer(sae: sae.checkpoint, toxic: toxicIds, devices: try Arguments.devices(device, precision: precision, budget: memoryBudget),
                                         explain: Int(explain), skipNonFinite: skipNonFinite != 0)
        out.pointee = Handle.make(ScorerHandle(scorer))
    }
}

/// Scores one batch of whole samples, read in place; a failed batch adds nothing.
@_cdecl("saegeo_scorer_add")
public func saegeo_scorer_add(_ scorer: UnsafeMutableRawPointer?, _ rows: UnsafeRawPointer?, _ dtype: Int32, _ rowCount: Int64,
                              _ dModel: Int64, _ offsets: UnsafePointer<Int64>?, _ offsetCount: Int64,
                              _ cancel: UnsafeMutableRawPointer?, _ progress: ProgressFunction?, _ user: UnsafeMutableRawPointer?) -> Int32 {
    Status.run {
        let handle = try Status.object(scorer, ScorerHandle.self, "scorer")
        let scorer = try handle.open()
        let batch = try Arguments.batch(rows, dtype: dtype, rows: rowCount, dModel: dModel, expected: scorer.encoder.dimension,
                                        offsets: offsets, offsetCount: offsetCount, name: "activations batch \(handle.batches)")
        try scorer.add(batch, events: Arguments.events(progress, user), cancellation: Arguments.cancellation(cancel))
        handle.batches += 1
    }
}

/// The dataset summary and every sample's results; the scorer is closed once this succeeds.
@_cdecl("saegeo_scorer_finish")
public func saegeo_scorer_finish(_ scorer: UnsafeMutableRawPointer?, _ nullSets: Int64, _ seed: UInt64,
                                 _ cancel: UnsafeMutableRawPointer?, _ out: UnsafeMutablePointer<UnsafeMutableRawPointer?>?) -> Int32 {
    Status.run {
        let handle = try Status.object(scorer, ScorerHandle.self, "scorer")
        let out = try Status.required(out, "out_result")
        let scorer = try handle.open()
        let summary = try scorer.summary(nullSets: Int(nullSets), seed: seed, cancellation: Arguments.cancellation(cancel))
        out.pointee = Handle.make(try ResultHandle(scorer: scorer, summary: summary))
        handle.scorer = nil
    }
}

@_cdecl("saegeo_scorer_free")
public func saegeo_scorer_free(_ scorer: UnsafeMutableRawPointer?) { Handle.free(scorer) }
