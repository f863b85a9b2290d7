import Foundation

extension BackendKind {
    /// The device of CPUBackend (OpenBLAS).
    public static let blas = BackendKind(rawValue: "blas")
}

/// The host's cores through OpenBLAS: one device, `cpu`.
public struct CPUBackend: DeviceBackend {
    public let family = "cpu"
    public let displayName = "CPU"
    public let hasNumberedDevices = false
    /// A lowered largest allocation (tests of GPU-like limits), or nil for the host's memory.
    private let maxAllocationBytes: Int?
    /// The products' arithmetic, resolved from the run's `--precision`.
    private let bfloat16: BFloat16Product?

    /// - Parameters:
    ///   - precision: `--precision`; `auto` takes bfloat16 where this CPU multiplies it natively.
    ///   - portableBFloat16: run bfloat16 through the portable product even where the native one
    ///     runs (tests of the certified path on any CPU).
    public init(maxAllocationBytes: Int? = nil, precision: ComputePrecision = .float32, portableBFloat16: Bool = false) {
        self.maxAllocationBytes = maxAllocationBytes
        switch precision {
        case .float32: bfloat16 = nil
        case .bfloat16: bfloat16 = portableBFloat16 ? .portable : BFloat16Product.best
        case .auto: bfloat16 = BFloat16Product.best == .native && !portableBFloat16 ? .native : nil
        }
    }

    /// What `auto` picks on this machine and why, for `saegeo plan` and `saegeo devices`.
    public static func precisionChoice(_ precision: ComputePrecision) -> (precision: ComputePrecision, reason: String) {
        let native = BFloat16Product.nativeAvailability
        switch (precision, native) {
        case (.float32, _): return (.float32, "float32 as asked")
        case (.bfloat16, .success(let kernel)): return (.bfloat16, "bfloat16 as asked: \(kernel)")
        case (.bfloat16, .failure(let error)): return (.bfloat16, "bfloat16 as asked, through the portable product (exact but slower than float32): \(error.message)")
        case (.auto, .success(let kernel)): return (.bfloat16, "auto: this CPU multiplies bfloat16 natively (\(kernel))")
        case (.auto, .failure(let error)): return (.float32, "auto: \(error.message)")
        }
    }

    public var devices: [DeviceDescription] { [CPUEngine.describe()] }

    public func capabilities(for id: String) throws -> DeviceCapabilities {
        CPUEngine.capabilities(maxAllocationBytes: maxAllocationBytes ?? .max, bfloat16: bfloat16)
    }

    public func engine(for id: String) throws -> ComputeEngine {
        CPUEngine(maxAllocationBytes: maxAllocationBytes ?? .max, bfloat16: bfloat16)
    }

    /// Chains of fmas, a streaming copy, sgemm and the engine's heaps (CPUProbes); nothing to tune.
    public func probes(for id: String, secondsPerProbe: Double, runs: Int) throws -> DeviceProbes? {
        CPUProbes(secondsPerProbe: secondsPerProbe, runs: runs)
    }
}
