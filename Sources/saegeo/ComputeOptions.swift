import ArgumentParser
import Foundation
import SaegeoCore

extension ComputePrecision: ExpressibleByArgument {}

/// Where a compute command runs and how much memory it may use.
struct ComputeOptions: ParsableArguments {
    @Option(help: "auto (OpenCL GPUs, else cpu), cpu, opencl:N, opencl:all, or a comma-separated list such as opencl:0,opencl:1 or cpu,opencl:0.")
    var device = "auto"

    @Option(name: .customLong("memory-budget"), parsing: .unconditional,
            help: "The most any one device (and the host, for cpu) may use, e.g. 512MiB or 4GiB. Default: three quarters of each device's memory.")
    var memoryBudget: String?

    @Option(help: "auto (bfloat16 where the CPU multiplies it natively, else float32), float32 or bfloat16: the arithmetic of the CPU's products. bfloat16 is a certified first pass: the outputs are those of float32 (neighbours byte for byte, scores within 1e-6). OpenCL devices compute in float32.")
    var precision: ComputePrecision = .auto

    func budgetBytes() throws -> Int? {
        try memoryBudget.map(ByteCount.parse)
    }

    /// The engines of the selected devices, with the developer knobs of EngineOptions.
    func engines() throws -> [ComputeEngine] {
        let catalog = try self.catalog()
        return try catalog.resolve(device).map { try catalog.engine(for: $0) }
    }

    /// The standard catalog with the developer knobs of EngineOptions.
    func catalog() throws -> DeviceCatalog {
        let options = try EngineOptions.fromEnvironment()
        return try DeviceCatalog.standard(openCL: .init(overrides: options.overrides, variant: options.variant,
                                                        tuning: options.tuning),
                                         precision: precision, for: device)
    }
}
