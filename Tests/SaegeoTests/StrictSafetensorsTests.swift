import Foundation
import Testing
@testable import SaegeoCore

/// Safetensors headers read strictly and in linear time: shapes and offsets must be JSON
/// integers, a tensor named twice is refused by name, and a header of 200k tensors parses in
/// linear time with O(1) lookups by name.
struct StrictSafetensorsTests {
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
}
