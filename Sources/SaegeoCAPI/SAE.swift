import Foundation
import SaegeoCore

/// An opened SAE checkpoint (headers read, tensors mapped; nothing executed).
final class SAEHandle {
    let checkpoint: SAECheckpoint
    let path: String
    init(checkpoint: SAECheckpoint, path: String) {
        self.checkpoint = checkpoint
        self.path = path
    }
}

/// Opens every family and file the CLI reads; `format` NULL detects it, else as --format takes it.
@_cdecl("saegeo_sae_open")
public func saegeo_sae_open(_ path: UnsafePointer<CChar>?, _ format: UnsafePointer<CChar>?,
                            _ out: UnsafeMutablePointer<UnsafeMutableRawPointer?>?) -> Int32 {
    Status.run {
        let out = try Status.required(out, "out_sae")
        let path = try Arguments.string(path, "path")
        var chosen: SAECheckpoint.Format?
        if let format {
            let name = String(cString: format)
            guard let known = SAECheckpoint.Format(rawValue: name) else {
                throw SaegeoError(.usage, "--format \(name) is not one of \(SAECheckpoint.Format.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            chosen = known
        }
        let checkpoint = try SAESource(path: path, format: chosen).open()
        out.pointee = Handle.make(SAEHandle(checkpoint: checkpoint, path: path))
    }
}

/// The checkpoint as `saegeo inspect --json` describes it.
@_cdecl("saegeo_sae_info_json")
public func saegeo_sae_info_json(_ sae: UnsafeMutableRawPointer?, _ out: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> Int32 {
    Status.run {
        let sae = try Status.object(sae, SAEHandle.self, "sae")
        let out = try Status.required(out, "out_json")
        let description = CheckpointDescription(sae.checkpoint, path: sae.path)
        out.pointee = mallocString(String(decoding: try JSONCoding.encode(description, what: "the SAE's description"), as: UTF8.self))
    }
}

@_cdecl("saegeo_sae_free")
public func saegeo_sae_free(_ sae: UnsafeMutableRawPointer?) { Handle.free(sae) }
