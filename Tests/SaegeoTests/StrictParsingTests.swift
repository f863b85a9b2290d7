import Foundation
import Testing
@testable import SaegeoCore

/// Untrusted files read strictly and in linear time: the JSON reader, safetensors headers,
/// npz members (decompression bombs, stored CRCs, temporary files) and score files.
struct StrictParsingTests {
    // MARK: StrictJSON

    @Test("strict JSON: values, order, escapes, exact integers")
    func jsonValues() throws {
        let text = #"{"b": [1, -0, 64.0, 1e2, -2.5E-3, true, false, null], "a": "x\"\\\/\b\f\n\r\t\u00e9\ud83d\ude00é", "min": -9223372036854775808, "max": 9223372036854775807}"#
        let value = try StrictJSON.parse(text)
        let object = try #require(value.objectValue)
        #expect(object.keys == ["b", "a", "min", "max"])
        #expect(object["a"]?.stringValue == "x\"\\/\u{08}\u{0C}\n\r\té😀é")
        #expect(object["min"]?.intValue == Int.min && object["max"]?.intValue == Int.max)
        let list = try #require(object["b"]?.arrayValue)
        #expect(list == [.integer(1), .integer(0), .number(64), .number(100), .number(-0.0025), .bool(true), .bool(false), .null])
        // 64.0 is a number, not an integer, though it has an integer's value.
        #expect(list[2].intValue == nil && list[2].doubleValue == 64)
        #expect(try StrictJSON.parse(" \t\r\n[]\n") == .array([]))
        #expect(try StrictJSON.parse("{}") == .object(JSONObject()))
    }

    @Test("strict JSON: a key named twice is refused, naming the key and its depth")
    func jsonDuplicates() throws {
        do {
            _ = try StrictJSON.parse(#"{"a": 1, "b": 2, "a": 3}"#)
            Issue.record("duplicate key accepted")
        } catch let error as StrictJSONError {
            #expect(error.duplicateKey == "a" && error.depth == 1 && error.offset == 17, "\(error)")
        }
        do {
            _ = try StrictJSON.parse(#"{"t": {"dtype": "F32", "dtype": "F16"}}"#)
            Issue.record("nested duplicate key accepted")
        } catch let error as StrictJSONError {
            #expect(error.duplicateKey == "dtype" && error.depth == 2, "\(error)")
        }
        // Equal after unescaping is the same key.
        #expect(throws: StrictJSONError.self) { try StrictJSON.parse(#"{"a": 1, "\u0061": 2}"#) }
    }

    @Test("strict JSON: malformed text, bad escapes, bad UTF-8 and out-of-range numbers are refused")
    func jsonRefusals() throws {
        let texts = [
            "", " ", "{", "[1,]", "{\"a\":1,}", "[1 2]", "{\"a\" 1}", "{a:1}", "[1]x", "[1][2]", "'a'",
            "01", "-", "1.", ".5", "+1", "1e", "1e+", "NaN", "Infinity", "-Infinity", "0x10", "tru", "nul",
            "[1] // comment", "\"abc",
            #""\x""#, #""\u12""#, #""\u12G4""#, #""\ud800""#, #""\udc00""#, #""\ud800\u0041""#, #""\ud800x""#,
            "\"tab\there\"", "\"line\nbreak\"",
            "9223372036854775808", "-9223372036854775809", "123456789012345678901234567890", "1e999", "-1e400",
        ]
        for text in texts {
            #expect(throws: StrictJSONError.self, "\(text.debugDescription)") { try StrictJSON.parse(text) }
        }
        let badUTF8: [[UInt8]] = [
            [0x22, 0xC0, 0x80, 0x22],               // overlong NUL
            [0x22, 0xED, 0xA0, 0x80, 0x22],         // encoded surrogate
            [0x22, 0xFF, 0x22],                     // never valid
            [0x22, 0xE2, 0x82, 0x22],               // truncated sequence
            [0x22, 0xF4, 0x90, 0x80, 0x80, 0x22],   // past U+10FFFF
            [0x22, 0x80, 0x22],                     // lone continuation byte
            [0xEF, 0xBB, 0xBF, 0x7B, 0x7D],         // byte order mark
        ]
        for bytes in badUTF8 {
            #expect(throws: StrictJSONError.self, "\(bytes)") { try StrictJSON.parse(bytes) }
        }
        #expect(try StrictJSON.parse([0x22, 0xE2, 0x82, 0xAC, 0x22]) == .string("€"))
    }

    @Test("strict JSON: nesting is limited, so deep input cannot overflow the stack")
    func jsonDepth() throws {
        let limit = StrictJSON.maxDepth
        #expect(try StrictJSON.parse(String(repeating: "[", count: limit) + String(repeating: "]", count: limit)) != .null)
        #expect(throws: StrictJSONError.self) {
            try StrictJSON.parse(String(repeating: "[", count: limit + 1) + String(repeating: "]", count: limit + 1))
        }
        #expect(throws: StrictJSONError.self) { try StrictJSON.parse(String(repeating: "{\"a\":", count: 1_000_000)) }
        #expect(throws: StrictJSONError.self) { try StrictJSON.parse(String(repeating: "[", count: 1_000_000)) }
    }

    // MARK: safetensors

    static let f32 = CheckpointBytes.encode((0..<24).map { Float($0) }, as: "F32")

    static func refusal(_ header: String, data: [UInt8] = f32, name: String) throws -> String {
        let path = TestFiles.path(name)
        try CheckpointBytes.write(CheckpointBytes.safetensors(header: header, data: data), to: path)
        do {
            _ = try SafetensorsFile(path: path)
        } catch let error as SaegeoError {
            #expect(error.kind == .badFile && error.message.hasPrefix(path) && !error.message.contains("\n"), "\(error)")
            return error.message
        }
        Issue.record("\(name) was accepted")
        return ""
    }

    @Test("safetensors: shapes and offsets must be JSON integers, 64.0 is refused")
    func safetensorsIntegers() throws {
        let shape = try Self.refusal(#"{"W_dec":{"dtype":"F32","shape":[6.0,4.0],"data_offsets":[0,96]}}"#, name: "float-shape.safetensors")
        #expect(shape.contains("'W_dec' shape") && shape.contains("JSON integer"), "\(shape)")
        let offsets = try Self.refusal(#"{"W_dec":{"dtype":"F32","shape":[6,4],"data_offsets":[0,9.6e1]}}"#, name: "float-offsets.safetensors")
        #expect(offsets.contains("data_offsets") && offsets.contains("JSON integer"), "\(offsets)")
        let huge = try Self.refusal(#"{"W_dec":{"dtype":"F32","shape":[18446744073709551616,4],"data_offsets":[0,96]}}"#, name: "huge-shape.safetensors")
        #expect(huge.contains("not valid safetensors JSON"), "\(huge)")
        let metadata = try Self.refusal(#"{"__metadata__":{"format":1},"W_dec":{"dtype":"F32","shape":[6,4],"data_offsets":[0,96]}}"#, name: "metadata.safetensors")
        #expect(metadata.contains("__metadata__"), "\(metadata)")
        // The same header written with integers is fine.
        let good = TestFiles.path("integers.safetensors")
        try CheckpointBytes.write(CheckpointBytes.safetensors(
            header: #"{"__metadata__":{"format":"pt"},"W_dec":{"dtype":"F32","shape":[6,4],"data_offsets":[0,96]}}"#, data: Self.f32), to: good)
        let file = try SafetensorsFile(path: good)
        #expect(file.entry("W_dec")?.shape == [6, 4] && file.metadata == ["format": "pt"])
    }

    @Test("safetensors: a tensor named twice is refused, naming it")
    func safetensorsDuplicates() throws {
        let message = try Self.refusal(
            #"{"W_dec":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"W_dec":{"dtype":"F32","shape":[22],"data_offsets":[8,96]}}"#,
            name: "twice.safetensors")
        #expect(message.contains("tensor 'W_dec' appears twice"), "\(message)")
    }

    /// 200k one-byte tensors: the old reader took over a minute; this one must be linear.
    static func manyTensors(_ count: Int, reversed: Bool) -> [UInt8] {
        var header = "{"
        header.reserveCapacity(count * 64)
        let order = reversed ? Array((0..<count).reversed()) : Array(0..<count)
        for (n, i) in order.enumerated() {
            if n > 0 { header += "," }
            header += "\"t\(i)\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[\(i),\(i + 1)]}"
        }
        header += "}"
        return CheckpointBytes.safetensors(header: header, data: (0..<count).map { UInt8(truncatingIfNeeded: $0) })
    }

    /// CPU time of this thread: steadier than the wall clock on a busy machine.
    static func threadCPUSeconds() -> Double {
        var now = timespec()
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &now)
        return Double(now.tv_sec) + Double(now.tv_nsec) * 1e-9
    }

    @Test("safetensors: a header of 200k tensors parses in linear time, lookups by name are O(1)")
    func safetensorsManyTensors() throws {
        let count = 200_000
        for reversed in [false, true] {
            let path = TestFiles.path("many-\(reversed).safetensors")
            try CheckpointBytes.write(Self.manyTensors(count, reversed: reversed), to: path)
            let clock = ContinuousClock()
            let start = clock.now, cpuStart = Self.threadCPUSeconds()
            let file = try SafetensorsFile(path: path)
            let parsed = clock.now - start, parsedCPU = Self.threadCPUSeconds() - cpuStart
            var found = 0
            for i in stride(from: 0, to: count, by: 7) where file.entry("t\(i)")?.byteRange.count == 1 { found += 1 }
            let total = clock.now - start, totalCPU = Self.threadCPUSeconds() - cpuStart
            print("StrictParsingTests: \(count) tensors (\(reversed ? "keys in reverse offset order" : "keys in offset order")): header parsed in \(parsed) (\(parsedCPU) s of CPU), with \(found) lookups \(total) (\(totalCPU) s of CPU)")
            #expect(file.entries.count == count && found == (count + 6) / 7)
            #expect(file.entries.first?.name == "t0" && file.entries.last?.name == "t\(count - 1)")
            #expect(file.tensor("t\(count - 1)")?.shape == [1] && file.entry("t\(count)") == nil)
            // On CPU time, not the wall clock: other tests (and builds) share the machine. The old
            // quadratic reader needed over a minute here.
            #expect(totalCPU < 5, "\(count) tensors took \(totalCPU) s of CPU (\(total))")
        }
    }

    // MARK: npz

    static func npyMember(_ values: [Float]) -> [UInt8] {
        CheckpointBytes.npy(descr: "<f4", shape: [values.count], payload: CheckpointBytes.encode(values, as: "F32"))
    }

    /// A fresh, empty folder to inflate into.
    static func scratchFolder(_ name: String) throws -> String {
        let folder = TestFiles.path("\(name)-\(UUID().uuidString)")
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        return folder
    }

    static func replace(_ bytes: inout [UInt8], _ pattern: [UInt8], with replacement: [UInt8]) -> Int {
        var replaced = 0
        var i = 0
        while i + pattern.count <= bytes.count {
            if Array(bytes[i..<(i + pattern.count)]) == pattern {
                bytes.replaceSubrange(i..<(i + pattern.count), with: replacement)
                replaced += 1
                i += pattern.count
            } else {
                i += 1
            }
        }
        return replaced
    }

    static func u64(_ v: Int) -> [UInt8] { (0..<8).map { UInt8((v >> (8 * $0)) & 0xFF) } }

    @Test("npz: a member that inflates past its declared size is refused without writing more than that size")
    func npzBomb() throws {
        // A valid .npy of 512 floats (2176 bytes) followed by 16 MiB of zeros that the archive does
        // not declare: deflated, it is about 16 KB.
        let declared = Self.npyMember([Float](repeating: 1, count: 512))
        #expect(declared.count == 2176)
        let real = declared + [UInt8](repeating: 0, count: 16 << 20)
        var archive = CheckpointBytes.zip([("W_dec.npy", real)], deflate: true)
        // ZIP64 extra fields (local: tag 1, 16 bytes; central: tag 1, 24 bytes) start with the
        // uncompressed size: make them declare 2176.
        #expect(Self.replace(&archive, [1, 0, 16, 0] + Self.u64(real.count), with: [1, 0, 16, 0] + Self.u64(2176)) == 1)
        #expect(Self.replace(&archive, [1, 0, 24, 0] + Self.u64(real.count), with: [1, 0, 24, 0] + Self.u64(2176)) == 1)
        let path = TestFiles.path("bomb.npz")
        try CheckpointBytes.write(archive, to: path)

        let member = try #require(try NpzArchive(path: path).member("W_dec"))
        #expect(try member.tensor().shape == [512])   // the header alone is fine
        let folder = try Self.scratchFolder("bomb-tmp")
        do {
            _ = try member.data(temporaryFolder: folder)
            Issue.record("the bomb was inflated")
        } catch let error as SaegeoError {
            #expect(error.kind == .badFile && error.message.contains("W_dec.npy") && error.message.contains("more than the 2176 bytes"), "\(error)")
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder) == [])

        // The inflater itself hands over at most the limit, refusing or stopping there.
        let compressed = CheckpointBytes.rawDeflate(real)
        var handed = 0
        #expect(throws: SaegeoError.self) {
            try compressed.withUnsafeBytes { bytes in
                try Inflater(name: "bomb").inflate(bytes, limit: 2176, beyond: .refuse) { handed += $0.count; return true }
            }
        }
        #expect(handed <= 2176)
        var prefix: [UInt8] = []
        let result = try compressed.withUnsafeBytes { bytes in
            try Inflater(name: "bomb").inflate(bytes, limit: 100, beyond: .stop) { prefix += $0; return true }
        }
        #expect(prefix == Array(real.prefix(100)) && result.size == 100)
    }

    @Test("npz: a stored member with a wrong CRC-32 is refused when its data is read, not when inspected")
    func npzStoredCRC() throws {
        let values = (0..<24).map { Float($0) - 3 }
        let npy = CheckpointBytes.npy(descr: "<f4", shape: [6, 4], payload: CheckpointBytes.encode(values, as: "F32"))
        let good = CheckpointBytes.zip([("W_dec.npy", npy)], deflate: false)
        let goodPath = TestFiles.path("stored-good.npz")
        try CheckpointBytes.write(good, to: goodPath)
        let goodTensor = try #require(try NpzArchive(path: goodPath).member("W_dec")).tensor()
        #expect(try goodTensor.floatValues() == values)
        #expect(try goodTensor.floatValues() == values)   // checked once, then cached

        // The CRC in the local header (byte 14) and in the central directory entry (byte 16).
        var bad = good
        let crc = CheckpointBytes.crc(npy)
        let wrong = crc ^ 0x0040_0001
        let crcBytes = withUnsafeBytes(of: crc.littleEndian, Array.init)
        #expect(Self.replace(&bad, crcBytes, with: withUnsafeBytes(of: wrong.littleEndian, Array.init)) == 2)
        let path = TestFiles.path("stored-bad-crc.npz")
        try CheckpointBytes.write(bad, to: path)
        let tensor = try #require(try NpzArchive(path: path).member("W_dec")).tensor()   // header only: fine
        #expect(tensor.shape == [6, 4])
        for _ in 0..<2 {   // the cached result refuses again
            do {
                _ = try tensor.floatValues()
                Issue.record("a stored member with a wrong CRC was read")
            } catch let error as SaegeoError {
                #expect(error.kind == .badFile && error.message.contains("W_dec.npy") && !error.message.contains("\n")
                        && error.message.contains(String(crc, radix: 16)) && error.message.contains(String(wrong, radix: 16)), "\(error)")
            }
        }
        #expect(throws: SaegeoError.self) { try tensor.featureMatrix(featureAxis: 0) }
    }

    @Test("npz: a deflated member is inflated into a file that has no name, leaving the folder empty")
    func npzInflatedFileUnlinked() throws {
        let values = (0..<3000).map { Float($0) * 0.25 }
        let path = TestFiles.path("deflated.npz")
        try CheckpointBytes.write(CheckpointBytes.zip([("W_dec.npy", Self.npyMember(values))], deflate: true), to: path)
        let member = try #require(try NpzArchive(path: path).member("W_dec"))
        let folder = try Self.scratchFolder("inflate-tmp")
        let (file, offset) = try member.data(temporaryFolder: folder)
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder) == [])   // while still mapped
        let read = CheckpointBytes.decode(Array(file.bytes[offset..<(offset + values.count * 4)]), as: "F32")
        #expect(read == values)
        #expect(try member.tensor().floatValues() == values)
    }

    // MARK: scores

    @Test("scores: jsonl samples must be JSON integers, keys unique")
    func scoresJSONL() throws {
        let cases: [(String, String)] = [
            ("{\"sample\": 0, \"score\": 1}\n{\"sample\": 1.5, \"score\": 2}\n", "line 2"),
            ("{\"sample\": 0, \"score\": 1}\n{\"sample\": 1.0, \"score\": 2}\n", "line 2"),
            ("{\"sample\": 0, \"score\": 1, \"score\": 5}\n", "line 1"),
            ("{\"sample\": \"0\", \"score\": 1}\n", "line 1"),
            ("{\"sample\": 0, \"score\": \"1\"}\n", "line 1"),
            ("{\"sample\": 0, \"score\": 1}\n{\"sample\": 99999999999999999999, \"score\": 1}\n", "line 2"),
            ("{\"sample\": 0, \"score\": 1}\n\n{\"sample\": 1, \"score\": 1} x\n", "line 3"),
        ]
        for (n, (text, line)) in cases.enumerated() {
            let path = try TestFiles.write(text, to: "strict-\(n).jsonl")
            do {
                _ = try SampleScores.read(path)
                Issue.record("\(text.debugDescription) was accepted")
            } catch let error as SaegeoError {
                #expect(error.message.contains(line) && !error.message.contains("\n"), "\(error)")
            }
        }
        let good = try TestFiles.write("{\"sample\": 1, \"score\": -2.5e-1}\r\n  \r\n{\"score\": 3, \"sample\": 0, \"text\": \"é\"}", to: "strict-good.jsonl")
        #expect(try SampleScores.read(good).scores == [3, -0.25])
    }

    @Test("scores: an empty scores file is refused in every format")
    func scoresEmpty() throws {
        let empty = [
            try TestFiles.write("", to: "empty-scores.jsonl"),
            try TestFiles.write("\n \n", to: "blank-scores.jsonl"),
            try TestFiles.write("", to: "empty-scores.csv"),
            try TestFiles.write("sample,score,active\n", to: "header-only-scores.csv"),
        ]
        let st = TestFiles.path("empty-scores.safetensors")
        try CheckpointBytes.write(CheckpointBytes.safetensors([.init(name: "scores", dtype: "F32", shape: [0], bytes: [])]), to: st)
        for path in empty + [st] {
            do {
                _ = try SampleScores.read(path)
                Issue.record("\(path) was accepted")
            } catch let error as SaegeoError {
                #expect(error.message.contains("holds no samples"), "\(error)")
            }
        }
    }
}
