import Foundation

/// A minimal reader of the safetensors files saegeo writes, independent of saegeo's own code.
struct SafetensorsContents {
    struct Tensor {
        let dtype: String
        let shape: [Int]
        let bytes: Data
    }

    let tensors: [String: Tensor]
    let metadata: [String: String]

    init(path: String) throws {
        let data = try Data(contentsOf: URL(fileURLWithPath: path))
        let length = data.prefix(8).withUnsafeBytes { $0.loadUnaligned(as: UInt64.self) }
        let header = try JSONSerialization.jsonObject(with: data.subdata(in: 8..<(8 + Int(length)))) as! [String: Any]
        var tensors: [String: Tensor] = [:]
        var metadata: [String: String] = [:]
        for (name, value) in header {
            let entry = value as! [String: Any]
            if name == "__metadata__" {
                metadata = entry as! [String: String]
                continue
            }
            let offsets = entry["data_offsets"] as! [Int]
            let start = 8 + Int(length) + offsets[0], end = 8 + Int(length) + offsets[1]
            tensors[name] = Tensor(dtype: entry["dtype"] as! String, shape: entry["shape"] as! [Int],
                                   bytes: data.subdata(in: start..<end))
        }
        self.tensors = tensors
        self.metadata = metadata
    }

    func int64(_ name: String) -> [Int64] {
        tensors[name]!.bytes.withUnsafeBytes { Array($0.bindMemory(to: Int64.self)) }
    }

    func float32(_ name: String) -> [Float] {
        tensors[name]!.bytes.withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
    }
}
