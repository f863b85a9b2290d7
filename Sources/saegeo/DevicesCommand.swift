import ArgumentParser
import Foundation
import SaegeoCore

struct Devices: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "List the compute devices: OpenCL devices as opencl:N, then the CPU (OpenBLAS).")

    @Flag(help: "Print a JSON array instead of a table.")
    var json = false

    func run() throws {
        try Saegeo.reporting {
            let devices = try DeviceCatalog.standard().descriptions
            if json {
                try Console.printJSON(devices)
                return
            }
            for device in devices {
                let memory = String(format: "%.1f GiB", Double(device.globalMemoryBytes) / Double(1 << 30))
                let allocation = String(format: "%.1f GiB", Double(device.maxAllocationBytes) / Double(1 << 30))
                print("\(device.id.padding(toLength: 10, withPad: " ", startingAt: 0)) \(device.type.rawValue.padding(toLength: 4, withPad: " ", startingAt: 0)) \(device.backend.rawValue.padding(toLength: 7, withPad: " ", startingAt: 0)) \(device.computeUnits) units, \(memory) memory, \(allocation) max allocation  \(device.name) [\(device.vendor)]")
            }
        }
    }
}
