import Foundation
import SaegeoCore

/// A finished scorer's results: scores, active counts, and the explanations and summary as the
/// CLI writes them (.jsonl's "explain" lists, --summary's JSON).
final class ResultHandle {
    let scores: [Float]
    let active: [Int64]
    let explainJSON: String
    let summaryJSON: String

    init(scorer: StreamingScorer, summary: DatasetSummary) throws {
        let result = scorer.result
        scores = result.scores
        active = result.active
        let proximity = scorer.proximity
        // Each explanation as ScoreJob writes it into .jsonl, the same numbers' text.
        explainJSON = "[" + result.explanations.map { sample in
            "[" + sample.map {
                "{\"feature\": \($0.feature), \"activation\": \($0.activation), \"proximity\": \(proximity.proximity[$0.feature]), \"nearest_toxic\": \(proximity.nearestToxic[$0.feature])}"
            }.joined(separator: ", ") + "]"
        }.joined(separator: ", ") + "]"
        summaryJSON = String(decoding: try JSONCoding.encode(summary, what: "the summary"), as: UTF8.self)
    }
}

@_cdecl("saegeo_result_samples")
public func saegeo_result_samples(_ result: UnsafeMutableRawPointer?) -> Int64 {
    guard let result else { return 0 }
    return Int64(Unmanaged<ResultHandle>.fromOpaque(result).takeUnretainedValue().scores.count)
}

/// Copies the scores (as float64) and active counts into the caller's [samples] buffers.
@_cdecl("saegeo_result_copy")
public func saegeo_result_copy(_ result: UnsafeMutableRawPointer?, _ outScores: UnsafeMutablePointer<Double>?,
                               _ outActive: UnsafeMutablePointer<Int64>?) {
    guard let result else { return }
    let values = Unmanaged<ResultHandle>.fromOpaque(result).takeUnretainedValue()
    if let outScores { for (i, score) in values.scores.enumerated() { outScores[i] = Double(score) } }
    if let outActive { for (i, count) in values.active.enumerated() { outActive[i] = count } }
}

@_cdecl("saegeo_result_explain_json")
public func saegeo_result_explain_json(_ result: UnsafeMutableRawPointer?, _ out: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> Int32 {
    Status.run {
        let values = try Status.object(result, ResultHandle.self, "result")
        try Status.required(out, "out_json").pointee = mallocString(values.explainJSON)
    }
}

@_cdecl("saegeo_result_summary_json")
public func saegeo_result_summary_json(_ result: UnsafeMutableRawPointer?, _ out: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> Int32 {
    Status.run {
        let values = try Status.object(result, ResultHandle.self, "result")
        try Status.required(out, "out_json").pointee = mallocString(values.summaryJSON)
    }
}

@_cdecl("saegeo_result_free")
public func saegeo_result_free(_ result: UnsafeMutableRawPointer?) { Handle.free(result) }
