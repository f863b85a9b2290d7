import Foundation
import SaegeoCore

/// A streaming contrast: SaegeoCore's StreamingContrast.
final class ContrastHandle {
    let contrast: StreamingContrast
    var batches = [0, 0]
    init(_ contrast: StreamingContrast) { self.contrast = contrast }
}

@_cdecl("saegeo_contrast_new")
public func saegeo_contrast_new(_ sae: UnsafeMutableRawPointer?, _ device: UnsafePointer<CChar>?,
                                _ precision: UnsafePointer<CChar>?, _ paired: Int32,
                                _ memoryBudget: Int64, _ out: UnsafeMutablePointer<UnsafeMutableRawPointer?>?) -> Int32 {
    Status.run {
        let sae = try Status.object(sae, SAEHandle.self, "sae")
        let out = try Status.required(out, "out_contrast")
        let contrast = try StreamingContrast(sae: sae.checkpoint, devices: try Arguments.devices(device, precision: precision, budget: memoryBudget),
                                             paired: paired != 0)
        out.pointee = Handle.make(ContrastHandle(contrast))
    }
}

/// Reduces one batch of whole samples of set A (0) or B (1), read in place.
@_cdecl("saegeo_contrast_add")
public func saegeo_contrast_add(_ contrast: UnsafeMutableRawPointer?, _ set: Int32, _ rows: UnsafeRawPointer?, _ dtype: Int32,
                                _ rowCount: Int64, _ dModel: Int64, _ offsets: UnsafePointer<Int64>?, _ offsetCount: Int64,
                                _ cancel: UnsafeMutableRawPointer?, _ progress: ProgressFunction?, _ user: UnsafeMutableRawPointer?) -> Int32 {
    Status.run {
        let handle = try Status.object(contrast, ContrastHandle.self, "contrast")
        guard set == 0 || set == 1 else { throw SaegeoError(.badInput, "set \(set) is not 0 (A) or 1 (B)") }
        let which: StreamingContrast.Set = set == 0 ? .a : .b
        let batch = try Arguments.batch(rows, dtype: dtype, rows: rowCount, dModel: dModel, expected: handle.contrast.encoder.dimension,
                                        offsets: offsets, offsetCount: offsetCount,
                                        name: "set \(which.rawValue) batch \(handle.batches[Int(set)])")
        try handle.contrast.add(batch, to: which, events: Arguments.events(progress, user), cancellation: Arguments.cancellation(cancel))
        handle.batches[Int(set)] += 1
    }
}

/// Every feature ranked, as the CLI's .jsonl rows, and the toxic measurement when toxic ids are
/// given: {"rows": [...], "toxic": {...} | null}. top <= 0: the CLI's default (20).
@_cdecl("saegeo_contrast_finish")
public func saegeo_contrast_finish(_ contrast: UnsafeMutableRawPointer?, _ toxic: UnsafePointer<Int64>?, _ toxicCount: Int64,
                                   _ top: Int64, _ nullSets: Int64, _ seed: UInt64, _ cancel: UnsafeMutableRawPointer?,
                                   _ out: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> Int32 {
    Status.run {
        let handle = try Status.object(contrast, ContrastHandle.self, "contrast")
        let out = try Status.required(out, "out_json")
        let toxicIds = try Arguments.ids(toxic, toxicCount, role: "toxic")
        let (ranking, measurement) = try handle.contrast.ranking(toxic: toxicIds, top: top <= 0 ? 20 : Int(top), nullSets: Int(nullSets),
                                                                 seed: seed, cancellation: Arguments.cancellation(cancel))
        let rows = try ContrastWriter.jsonObjects(ranking).joined(separator: ",\n")
        let toxicJSON = try measurement.map { String(decoding: try JSONCoding.encode($0, what: "the toxic measurement"), as: UTF8.self) } ?? "null"
        out.pointee = mallocString("{\"rows\": [\n" + rows + "\n], \"toxic\": " + toxicJSON + "}")
    }
}

@_cdecl("saegeo_contrast_free")
public func saegeo_contrast_free(_ contrast: UnsafeMutableRawPointer?) { Handle.free(contrast) }
