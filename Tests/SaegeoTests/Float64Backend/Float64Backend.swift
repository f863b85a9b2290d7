import Foundation
import SaegeoCore

/// A third backend, for the tests only: plain Swift loops in float64, one device, `f64`. It exists
/// to prove that a backend is a plug-in: this folder registers it through SaegeoCore's public
/// surface alone (`import SaegeoCore`, no `@testable`), with no edit to SaegeoCore, and the
/// conformance suite holds it to the same answers as the CPU and OpenCL engines
/// (Support/Backends.swift). Slow and simple on purpose: nothing here is tuned.
struct Float64Backend: DeviceBackend {
    static let family: String = "f64"
    let family: String = Float64Backend.family
    let displayName = "float64 (tests)"
    let hasNumberedDevices = false
    /// A lowered largest allocation, so that the planner cuts small tiles (as the CPU case's
    /// `64 KiB tiles`), or nil for no limit of its own.
    let maxAllocationBytes: Int?

    init(maxAllocationBytes: Int? = nil) { self.maxAllocationBytes = maxAllocationBytes }

    var devices: [DeviceDescription] { [Float64Engine.describe()] }

    func capabilities(for id: String) throws -> DeviceCapabilities {
        Float64Engine.capabilities(maxAllocationBytes: maxAllocationBytes ?? .max)
    }

    func engine(for id: String) throws -> ComputeEngine {
        Float64Engine(maxAllocationBytes: maxAllocationBytes ?? .max)
    }
}
