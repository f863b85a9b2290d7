import Foundation
import SaegeoCore

/// Developer knobs for the OpenCL engine, read from the environment so that tests can run the
/// GPU code path under GPU-sized limits on a CPU device (PoCL, oclgrind):
///   SAEGEO_OPENCL_VARIANT=tiled|direct, SAEGEO_OPENCL_MAX_WORK_GROUP=N,
///   SAEGEO_OPENCL_LOCAL_MEMORY=BYTES, SAEGEO_OPENCL_MAX_ALLOCATION=BYTES
/// and the kernel configurations `saegeo tune` cached (SAEGEO_TUNING_CACHE names another file).
struct EngineOptions {
    var overrides = LimitOverrides()
    var variant: KernelConfiguration.Variant?
    var tuning = TuningCache.standard()

    static func fromEnvironment() throws -> EngineOptions {
        let env = ProcessInfo.processInfo.environment
        var options = EngineOptions()
        func number(_ key: String) throws -> Int? {
            guard let text = env[key] else { return nil }
            guard let n = DecimalNumber.int(text), n > 0 else {
                throw SaegeoError(.usage, "\(key)=\(text) is not a positive integer")
            }
            return n
        }
        options.overrides.maxWorkGroupSize = try number("SAEGEO_OPENCL_MAX_WORK_GROUP")
        options.overrides.localMemoryBytes = try number("SAEGEO_OPENCL_LOCAL_MEMORY")
        options.overrides.maxAllocationBytes = try number("SAEGEO_OPENCL_MAX_ALLOCATION")
        if let text = env["SAEGEO_OPENCL_VARIANT"] {
            guard let variant = KernelConfiguration.Variant(rawValue: text) else {
                throw SaegeoError(.usage, "SAEGEO_OPENCL_VARIANT=\(text) is not one of tiled, direct")
            }
            options.variant = variant
        }
        return options
    }
}
