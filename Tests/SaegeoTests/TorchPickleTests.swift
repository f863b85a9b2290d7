import Foundation
import Testing
@testable import SaegeoCore

/// TorchCheckpointFile against checkpoints written by real torch.save (both container formats),
/// compared with what numpy wrote for them, and against hostile pickles that must be refused in
/// one line without running, looping or crashing. Fixtures: Tests/Fixtures/torch/make_fixtures.py.
struct TorchPickleTests {
    static let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Fixtures/torch")
    static func fixture(_ name: String) -> String { folder.appendingPathComponent(name).path }

    /// What make_fixtures.py recorded for one state dict: float64 copies of every tensor (from
    /// numpy.savez, read here with a minimal .npy parser independent of saegeo's), each tensor's
    /// dtype, shape and layout, and the plain values.
    struct Expected {
        var arrays: [String: [Double]] = [:]
        var tensors: [String: (dtype: String, shape: [Int], layout: String)] = [:]
        var values: [String: TorchValue] = [:]

        init(_ stem: String) throws {
            let archive = try NpzArchive(path: fixture("\(stem).expected.npz"))
            for member in archive.members {
                let bytes = UnsafeRawBufferPointer(rebasing: archive.file.bytes[member.dataRange])
                #expect(member.method == 0 && bytes[6] == 1, "numpy.savez writes stored v1 .npy members")
                let headerLength = Int(bytes[8]) | Int(bytes[9]) << 8
                let header = String(decoding: bytes[10..<(10 + headerLength)], as: UTF8.self)
                #expect(header.contains("'descr': '<f8'") && header.contains("'fortran_order': False"))
                let count = (bytes.count - 10 - headerLength) / 8
                arrays[member.name] = (0..<count).map { bytes.loadUnaligned(fromByteOffset: 10 + headerLength + 8 * $0, as: Double.self) }
            }
            let data = try Data(contentsOf: URL(fileURLWithPath: fixture("\(stem).expected.json")))
            let json = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
            for (name, entry) in try #require(json["tensors"] as? [String: [String: Any]]) {
                tensors[name] = (entry["dtype"] as! String, entry["shape"] as! [Int], entry["layout"] as! String)
            }
            for (name, pair) in try #require(json["values"] as? [String: [Any]]) {
                switch pair[0] as! String {
                case "int": values[name] = .int((pair[1] as! NSNumber).intValue)
                case "double": values[name] = .double((pair[1] as! NSNumber).doubleValue)
                case "bool": values[name] = .bool(pair[1] as! Bool)
                case "string": values[name] = .string(pair[1] as! String)
                default: values[name] = TorchValue.none
                }
            }
        }
    }

    @Test("state dicts written by torch.save, zip and legacy, read bit-exact against numpy",
          arguments: ["sae", "mixed", "views"], ["zip", "legacy"])
    func goodFixtures(stem: String, format: String) throws {
        let expected = try Expected(stem)
        let checkpoint = try TorchCheckpointFile(path: Self.fixture("\(stem)_\(format).pt"))
        #expect(Set(checkpoint.tensors.map(\.name)) == Set(expected.tensors.keys))
        #expect(checkpoint.tensors.count == expected.tensors.count)
        #expect(checkpoint.values == expected.values)
        for tensor in checkpoint.tensors {
            let want = try #require(expected.tensors[tensor.name])
            #expect(tensor.dtype == want.dtype && tensor.shape == want.shape, "\(tensor.name)")
            #expect(checkpoint.tensor(tensor.name)?.name == tensor.name)
            #expect(tensor.columnMajor == (want.layout == "columnMajor"), "\(tensor.name)")
            let values = try tensor.numericValues()
            let wanted = try #require(expected.arrays[tensor.name])
            #expect(values.map(\.bitPattern) == wanted.map(\.bitPattern), "\(stem)_\(format) \(tensor.name)")
            if tensor.scalarType != nil {
                #expect(try tensor.floatValues() == wanted.map { Float($0) }, "\(tensor.name)")
            }
        }
    }

    @Test("OpenAI-style values and a 1-element int64 buffer")
    func saeValues() throws {
        for format in ["zip", "legacy"] {
            let checkpoint = try TorchCheckpointFile(path: Self.fixture("sae_\(format).pt"))
            #expect(checkpoint.values["activation"] == .string("TopK"))
            #expect(checkpoint.values["activation_state_dict.k"] == .int(32))
            #expect(checkpoint.values["config.layers.2"] == .int(1 << 40))
            #expect(checkpoint.values["config.note"] == TorchValue.none)
            let buffer = try #require(checkpoint.tensor("stats_last_nonzero"))
            #expect(buffer.dtype == "I64" && buffer.shape == [1] && buffer.scalarType == nil)
            #expect(try buffer.numericValues() == [7])
            // decoder.weight [d_model, d_sae]: one feature per column, usable in place.
            let matrix = try #require(checkpoint.tensor("decoder.weight")).featureMatrix(featureAxis: 1)
            #expect(matrix.features == 10 && matrix.dimension == 6 && matrix.layout == .columns)
        }
    }

    @Test("a transposed view maps column-major; offset and shared storages map in place; a strided view is copied")
    func views() throws {
        let expected = try Expected("views")
        for format in ["zip", "legacy"] {
            let checkpoint = try TorchCheckpointFile(path: Self.fixture("views_\(format).pt"))
            // transposed = base.t(): [3, 5] with strides (1, 3), on base's storage.
            let transposed = try #require(checkpoint.tensor("transposed"))
            #expect(transposed.columnMajor)
            let want = try #require(expected.arrays["transposed"])
            for axis in [0, 1] {
                let matrix = try transposed.featureMatrix(featureAxis: axis)
                var feature = [Float](repeating: 0, count: matrix.dimension)
                for f in 0..<matrix.features {
                    feature.withUnsafeMutableBufferPointer { matrix.copyFeature(f, into: $0.baseAddress!) }
                    let wanted = (0..<matrix.dimension).map { Float(axis == 0 ? want[f * 5 + $0] : want[$0 * 5 + f]) }
                    #expect(feature == wanted, "\(format) axis \(axis) feature \(f)")
                }
            }
            // All of big's views on one storage, each at its own offset; base and transposed share.
            let (file, offset) = try #require(checkpoint.tensor("offset")).mapped()
            let (_, a) = try #require(checkpoint.tensor("shared_a")).mapped()
            let (_, b) = try #require(checkpoint.tensor("shared_b")).mapped()
            #expect(a - offset == 7 * 4 && b - offset == 13 * 4)
            #expect(try transposed.mapped().1 == (try #require(checkpoint.tensor("base")).mapped().1))
            #expect(file === checkpoint.file, "used in place, not copied")
        }
    }

    @Test("hostile files are refused in one line naming the problem", arguments: [
        ("hostile_os_system.pt", "the pickle calls os.system, which a weights-only state dict never needs; saegeo refuses it (it never runs pickled code)"),
        ("hostile_eval_zip.pt", "calls builtins.eval (pickled as __builtin__.eval),"),
        ("hostile_popen_legacy.pt", "calls subprocess.Popen (pickled as commands.Popen),"),
        ("hostile_posix_system_p4.pt", "calls posix.system,"),
        ("hostile_numpy_global_zip.pt", "calls numpy."),
        ("hostile_call_storage_zip.pt", "calls torch.FloatStorage with arguments"),
        ("hostile_deep_list_zip.pt", "more than 100 deep"),
        ("hostile_deep_marks_zip.pt", "MARKs"),
        ("hostile_self_list_zip.pt", "contains itself"),
        ("hostile_self_dict_zip.pt", "contains itself"),
        ("hostile_laughs_zip.pt", "would never end"),
        ("hostile_huge_string_zip.pt", "past the end of the pickle"),
        ("hostile_no_stop_zip.pt", "without a STOP"),
        ("hostile_storage_past_record_zip.pt", "declares 1000 elements"),
        ("hostile_view_past_storage_zip.pt", "reaches past the 4 elements"),
        ("hostile_missing_storage_zip.pt", "does not contain"),
        ("hostile_storage_past_end_legacy.pt", "runs past the end of the file"),
        ("hostile_truncated_legacy.pt", "runs past the end of the file"),
        ("hostile_truncated_zip.pt", "is not a zip (.pt) archive"),
    ])
    func hostile(file: String, words: String) throws {
        let path = Self.fixture(file)
        let error = try #require(throws: SaegeoError.self) { try TorchCheckpointFile(path: path) }
        #expect(error.kind == .badFile)
        #expect(error.message.hasPrefix(path) && error.message.contains(words), "\(error.message)")
        #expect(!error.message.contains("\n") && error.message.count < 400, "\(error.message)")
    }

    /// Parses bytes held in memory; the error, if any.
    static func parse(_ bytes: [UInt8], path: String = "memory.pt") -> SaegeoError? {
        let file = bytes.withUnsafeBytes { MappedFile(copying: $0, path: path) }
        do {
            let checkpoint = try TorchCheckpointFile(file: file)
            for tensor in checkpoint.tensors { _ = try? tensor.numericValues() }
            return nil
        } catch {
            return error as? SaegeoError ?? SaegeoError(.io, "not a SaegeoError: \(error)")
        }
    }

    @Test("200,000 nested lists or tuples are refused without overflowing the stack")
    func deepChains() {
        let n = 200_000   // far deeper than a recursive release could survive
        let lists: [UInt8] = [0x80, 2] + [UInt8](repeating: 0x5D, count: n) + [UInt8](repeating: 0x61, count: n - 1) + [0x2E]
        let tuples: [UInt8] = [0x80, 2, 0x29] + [UInt8](repeating: 0x85, count: n) + [0x2E]
        for bytes in [lists, tuples] {
            // A raw pickle is read as the legacy format, whose first pickle must be the magic number.
            #expect(Self.parse(bytes)?.message.contains("not torch.save's magic number") == true)
        }
    }

    @Test("names from the pickle are shown on one line; a protocol 0 pickle's global is named")
    func hostileNames() {
        // STACK_GLOBAL of "os\nxx" . "system" (protocol 4), and GLOBAL os.system with no PROTO.
        let stacked: [UInt8] = [0x80, 4, 0x8C, 5] + Array("os\nxx".utf8) + [0x8C, 6] + Array("system".utf8) + [0x93, 0x2E]
        let error = Self.parse(stacked)
        #expect(error?.message == "memory.pt: the pickle calls os?xx.system, which a weights-only state dict never needs; saegeo refuses it (it never runs pickled code)")
        let protocol0 = Array("cos\nsystem\n(S'true'\ntR.".utf8)
        #expect(Self.parse(protocol0)?.message.contains("calls os.system,") == true)
        #expect(Self.parse(Array("hello".utf8))?.message.contains("is not a PyTorch checkpoint") == true)
    }

    @Test("every truncation and many byte changes of real checkpoints fail cleanly or read")
    func damagedFixtures() throws {
        for name in ["sae_zip.pt", "sae_legacy.pt", "views_zip.pt", "views_legacy.pt"] {
            let whole = try [UInt8](Data(contentsOf: URL(fileURLWithPath: Self.fixture(name))))
            #expect(Self.parse(whole) == nil)
            for cut in stride(from: 0, to: whole.count, by: 17) {
                let error = Self.parse(Array(whole[..<cut]))
                #expect(error?.kind == .badFile && error?.message.contains("\n") == false, "\(name) cut at \(cut)")
            }
            for position in stride(from: 0, to: whole.count, by: 11) {
                for value: UInt8 in [0xFF, whole[position] ^ 0x01] {
                    var changed = whole
                    changed[position] = value
                    if let error = Self.parse(changed) {
                        #expect(error.kind == .badFile && !error.message.contains("\n"), "\(name) byte \(position): \(error.message)")
                    }
                }
            }
        }
    }
}
