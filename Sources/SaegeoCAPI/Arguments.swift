import Foundation
import SaegeoCore

/// The C progress callback of saegeo.h.
public typealias ProgressFunction = @convention(c) (UnsafePointer<CChar>?, Int64, Int64, UnsafeMutableRawPointer?) -> Void

/// The caller's `user` pointer, handed back untouched from the worker threads that report progress.
struct UserPointer: @unchecked Sendable {  // because saegeo never reads it: it is only handed back to the caller's callback
    let pointer: UnsafeMutableRawPointer?
}

/// How the C arguments become SaegeoCore's values, each checked as the CLI checks its options.
enum Arguments {
    /// JobEvents that forward every pass's progress (label, tiles done, tiles total) to `progress`;
    /// log lines are dropped (the Python package reports what it needs from the results).
    static func events(_ progress: ProgressFunction?, _ user: UnsafeMutableRawPointer?) -> JobEvents {
        guard let progress else { return .silent }
        let user = UserPointer(pointer: user)
        return JobEvents(log: { _ in }, progress: { label in
            { report in
                label.withCString { progress($0, Int64(report.tilesDone), Int64(report.tilesTotal), user.pointer) }
            }
        })
    }

    /// The devices `device` names ("auto", "cpu", "opencl:0", "cpu,opencl:0", ...; NULL: auto),
    /// resolved as `--device` is, with the memory budget in bytes (< 0: the defaults).
    static func devices(_ device: UnsafePointer<CChar>?, precision: UnsafePointer<CChar>?, budget: Int64) throws -> JobDevices {
        let spec = device.map { String(cString: $0) } ?? "auto"
        guard budget != 0 else { throw SaegeoError(.usage, "--memory-budget must be more than 0 bytes (got 0); pass a negative budget for the defaults") }
        let bytes = budget < 0 ? nil : Int(budget)
        let choice = try Self.precision(precision)
        return JobDevices(engines: {
            let catalog = try DeviceCatalog.standard(openCL: .init(tuning: TuningCache.standard()), precision: choice, for: spec)
            return try catalog.resolve(spec).map { try catalog.engine(for: $0) }
        }, budget: { bytes })
    }

    /// --precision's values; NULL is the CLI's default, auto (bfloat16's certified first pass where
    /// the CPU has it natively).
    static func precision(_ pointer: UnsafePointer<CChar>?) throws -> ComputePrecision {
        guard let pointer else { return .auto }
        let text = String(cString: pointer)
        guard let precision = ComputePrecision(rawValue: text) else {
            throw SaegeoError(.badInput, "precision must be auto, float32 or bfloat16, not '\(text)'")
        }
        return precision
    }

    /// `count` ids at `pointer` (NULL: nil, meaning all features).
    static func ids(_ pointer: UnsafePointer<Int64>?, _ count: Int64, role: String) throws -> [Int]? {
        guard let pointer else { return nil }
        guard count >= 0 else { throw SaegeoError(.badInput, "the number of \(role) ids is \(count); it must not be negative") }
        return UnsafeBufferPointer(start: pointer, count: Int(count)).map { Int(truncatingIfNeeded: $0) }
    }

    static func cancellation(_ token: UnsafeMutableRawPointer?) -> Cancellation {
        guard let token else { return Cancellation() }
        return Unmanaged<Cancellation>.fromOpaque(token).takeUnretainedValue()
    }

    static func string(_ pointer: UnsafePointer<CChar>?, _ name: String) throws -> String {
        guard let pointer else { throw SaegeoError(.badInput, "\(name) is NULL") }
        return String(cString: pointer)
    }

    /// A batch of activation rows read in place (dtype 0 float32, 1 float16, 2 bfloat16), grouped
    /// by `offsets` (NULL: one sample per row); checked against the SAE's d_model.
    static func batch(_ rows: UnsafeRawPointer?, dtype: Int32, rows count: Int64, dModel: Int64, expected: Int,
                      offsets: UnsafePointer<Int64>?, offsetCount: Int64, name: String) throws -> ActivationsFile {
        let types: [Int32: ScalarType] = [0: .f32, 1: .f16, 2: .bf16]
        guard let type = types[dtype] else {
            throw SaegeoError(.badInput, "\(name): dtype code \(dtype) is not one of 0 (float32), 1 (float16), 2 (bfloat16)")
        }
        guard count >= 0 else { throw SaegeoError(.badInput, "\(name): the number of rows is \(count); it must not be negative") }
        guard dModel == Int64(expected) else {
            throw SaegeoError(.badInput, "\(name): activations have d_model \(dModel) but the SAE expects \(expected)")
        }
        var starts: [Int]?
        if let offsets {
            guard offsetCount >= 1 else { throw SaegeoError(.badInput, "\(name): offsets need at least one value (0), got \(offsetCount)") }
            starts = UnsafeBufferPointer(start: offsets, count: Int(offsetCount)).map { Int(truncatingIfNeeded: $0) }
        }
        let empty: StaticString = ""
        let base = count == 0 ? UnsafeRawPointer(empty.utf8Start) : try Status.required(rows, "\(name): rows")
        return try InMemoryJobs.activations(borrowing: base, scalarType: type, rows: Int(count), dimension: Int(dModel),
                                            sampleStarts: starts, name: name)
    }
}
