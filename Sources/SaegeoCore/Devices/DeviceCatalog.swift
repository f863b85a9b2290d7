import Foundation

/// Every device of the registered backends, in a stable order: the backends in the order they were
/// registered (OpenCL first, the CPU last: Backends/StandardBackends.swift), each listing its
/// devices as it finds them.
public struct DeviceCatalog: Sendable {
    public let backends: [DeviceBackend]

    public init(backends: [DeviceBackend]) { self.backends = backends }

    public var descriptions: [DeviceDescription] { backends.flatMap(\.devices) }

    /// Resolves a device list to device ids: `auto`, a single-device family (`cpu`), `family:N`,
    /// `family:all`, or several separated by commas (`opencl:0,opencl:1`, `cpu,opencl:0`). `auto`
    /// takes the GPUs if there are any and the last backend's devices otherwise: an OpenCL CPU
    /// device (PoCL) is never chosen by itself.
    public func resolve(_ spec: String) throws -> [String] {
        var ids: [String] = []
        for part in spec.split(separator: ",").map({ $0.trimmingCharacters(in: .whitespaces) }) {
            let resolved = try resolvePart(part)
            for id in resolved where ids.contains(id) {
                throw SaegeoError.badInput("device \(id) is listed twice in '\(spec)'; name each device once")
            }
            ids += resolved
        }
        guard !ids.isEmpty else { throw SaegeoError.badInput("no device given; use \(Self.list(deviceForms(all: false)))") }
        return ids
    }

    private func resolvePart(_ part: String) throws -> [String] {
        if part == "auto" {
            let gpus = descriptions.filter { $0.type == .gpu }.map(\.id)
            return gpus.isEmpty ? (backends.last?.devices.map(\.id) ?? []) : gpus
        }
        for backend in backends {
            if !backend.hasNumberedDevices, part == backend.family { return [part] }
            guard backend.hasNumberedDevices, part.hasPrefix(backend.family + ":") else { continue }
            let ids = backend.devices.map(\.id)
            let suffix = part.dropFirst(backend.family.count + 1)
            if suffix == "all" {
                guard !ids.isEmpty else {
                    throw SaegeoError.badInput("--device \(part): there are no \(backend.displayName) devices; use \(lastResort)")
                }
                return ids
            }
            guard Int(suffix) != nil else { break }
            guard ids.contains(part) else {
                let known = ids.isEmpty ? "there are no \(backend.displayName) devices"
                    : "there are \(ids.first!) to \(ids.last!)"
                throw SaegeoError.badInput("unknown device '\(part)': \(known); run 'saegeo devices' to list them")
            }
            return [part]
        }
        throw SaegeoError.badInput("unknown device '\(part)'; use \(Self.list(deviceForms(all: true) + ["a comma-separated list"])) (run 'saegeo devices' to list them)")
    }

    /// How devices may be named, for messages: `auto`, each single-device family (`cpu`), then
    /// each numbered family's `family:N` (and `family:all`).
    private func deviceForms(all: Bool) -> [String] {
        ["auto"] + backends.filter { !$0.hasNumberedDevices }.map(\.family)
            + backends.filter(\.hasNumberedDevices).flatMap { all ? ["\($0.family):N", "\($0.family):all"] : ["\($0.family):N"] }
    }

    /// The device `auto` falls back to: the last backend's (the CPU).
    private var lastResort: String { backends.last?.devices.first?.id ?? "auto" }

    /// "a, b or c".
    private static func list(_ items: [String]) -> String {
        items.count < 2 ? items.joined() : items.dropLast().joined(separator: ", ") + " or " + items.last!
    }

    /// The engine of one device id from `resolve`.
    public func engine(for id: String) throws -> ComputeEngine {
        try backend(of: id).engine(for: id)
    }

    /// The backend that lists a device id from `resolve`.
    public func backend(of id: String) throws -> DeviceBackend {
        // A single-device family by its name, without listing any backend's devices.
        if let backend = backends.first(where: { !$0.hasNumberedDevices && $0.family == id }) { return backend }
        guard let backend = backends.first(where: { $0.devices.contains { $0.id == id } }) else {
            throw SaegeoError.badInput("unknown device '\(id)'; run 'saegeo devices' to list them")
        }
        return backend
    }

    /// A device's description, as its engine would give it.
    public func description(of id: String) throws -> DeviceDescription {
        try backend(of: id).devices.first { $0.id == id }!
    }

    /// What a device's engine would declare, without building it (the planner's input).
    public func capabilities(for id: String) throws -> DeviceCapabilities {
        try backend(of: id).capabilities(for: id)
    }

    /// What `--precision` resolves to on a device id from `resolve`, and why.
    public func precision(for id: String) throws -> PrecisionChoice {
        try backend(of: id).precision(for: id)
    }

    /// The devices of the backends of one family (`opencl`), in the catalog's order.
    public func devices(ofFamily family: String) -> [DeviceDescription] {
        backends.filter { $0.family == family }.flatMap(\.devices)
    }

    /// The capabilities of a GPU that is not here, as the first backend that drives GPUs would
    /// use it (`saegeo plan --assume-memory`), or nil when no backend does.
    public func assumedGPU(maxAllocationBytes: Int) -> DeviceCapabilities? {
        backends.lazy.compactMap { $0.assumedGPU(maxAllocationBytes: maxAllocationBytes) }.first
    }
}
