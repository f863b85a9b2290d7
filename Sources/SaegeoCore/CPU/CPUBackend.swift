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
    private let asked: ComputePrecision

    /// - Parameters:
    ///   - precision: `--precision`; `auto` takes bfloat16 where this CPU multiplies it natively.
    ///   - portableBFloat16: run bfloat16 through the portable product even where the native one
    ///     runs (tests of the certified path on any CPU).
    public init(maxAllocationBytes: Int? = nil, precision: ComputePrecision = .float32, portableBFloat16: Bool = false) {
        self.maxAllocationBytes = maxAllocationBytes
        asked = precision
        switch precision {
        case .float32: bfloat16 = nil
        case .bfloat16: bfloat16 = portableBFloat16 ? .portable : BFloat16Product.best
        case .auto: bfloat16 = BFloat16Product.best == .native && !portableBFloat16 ? .native : nil
        }
    }

    /// What `--precision` resolves to here, and why.
    public func precision(for id: String) -> PrecisionChoice {
        let native = BFloat16Product.nativeAvailability
        let (precision, reason): (ComputePrecision, String)
        switch (asked, bfloat16, native) {
        case (.float32, _, _): (precision, reason) = (.float32, "as asked")
        case (.auto, nil, .failure(let error)): (precision, reason) = (.float32, "auto, and \(error.message)")
        case (.auto, nil, _): (precision, reason) = (.float32, "auto, and the bfloat16 product is the portable one here")
        case (.auto, _, _): (precision, reason) = (.bfloat16, "auto, and this CPU multiplies bfloat16 natively (\(bfloat16!.summary))")
        case (.bfloat16, .native?, _): (precision, reason) = (.bfloat16, "as asked (\(BFloat16Product.native.summary))")
        case (.bfloat16, _, .failure(let error)):
            (precision, reason) = (.bfloat16, "as asked, through the portable product (the same results, slower than float32), since \(error.message)")
        case (.bfloat16, _, _): (precision, reason) = (.bfloat16, "as asked, through the portable product (the same results, slower than float32)")
        }
        return PrecisionChoice(device: id, precision: precision, reason: reason)
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
