import Foundation
import SaegeoCore

/// The devices, as `saegeo devices --json` lists them.
@_cdecl("saegeo_devices_json")
public func saegeo_devices_json(_ out: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> Int32 {
    Status.run {
        let out = try Status.required(out, "out_json")
        let devices = try DeviceCatalog.standard(openCL: .init(tuning: TuningCache.standard())).descriptions
        out.pointee = mallocString(String(decoding: try JSONCoding.encode(devices, what: "the devices"), as: UTF8.self))
    }
}

/// A cancellation token: saegeo_cancel only raises its flag; the computation checks it between tiles.
@_cdecl("saegeo_cancel_new")
public func saegeo_cancel_new() -> UnsafeMutableRawPointer? { Handle.make(Cancellation()) }

@_cdecl("saegeo_cancel")
public func saegeo_cancel(_ token: UnsafeMutableRawPointer?) {
    guard let token else { return }
    Unmanaged<Cancellation>.fromOpaque(token).takeUnretainedValue().cancel()
}

@_cdecl("saegeo_cancel_free")
public func saegeo_cancel_free(_ token: UnsafeMutableRawPointer?) { Handle.free(token) }
