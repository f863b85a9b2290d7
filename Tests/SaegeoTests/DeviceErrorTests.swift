import Foundation
import Testing
@testable import SaegeoCore

/// A device that fails says which one: every OpenCL status other than success becomes saegeo's
/// one error type, its message starting with the device id (a run on several devices must say
/// which one failed).
struct DeviceErrorTests {
    @Test("an OpenCL failure names the device: a buffer past the largest allocation, a program that does not build")
    func openCLErrorsNameTheDevice() throws {
        for device in try OpenCLBackend().openCLDevices {
            let resources = try OpenCLDeviceResources.shared(for: device)
            do {
                _ = try resources.context.buffer(bytes: device.limits.maxAllocationBytes + 1, label: "too large")
                Issue.record("\(device.id) allocated past its largest allocation")
            } catch let error as SaegeoError {
                #expect(error.kind == .device)
                #expect(error.message.hasPrefix("\(device.id): OpenCL clCreateBuffer failed with CL_INVALID_BUFFER_SIZE"), "\(error.message)")
                // The status is kept beside the text, and marks an allocation that a smaller plan may avoid.
                #expect(error.code == .openCL(-61))
                #expect(error.isAllocationFailure)
                // Its exit status is a device failure's, told apart from bad input and a signal.
                #expect(error.exitStatus == 71 && SaegeoError(.badInput, "").exitStatus == 1 && SaegeoError(.interrupted, "").exitStatus == 75)
            }
            do {
                // similarity.cl without its compile-time tile sizes does not compile.
                _ = try resources.program(["similarity.cl"], options: "-DTILE_M=")
                Issue.record("\(device.id) built a program without its defines")
            } catch let error as SaegeoError {
                #expect(error.message.hasPrefix("\(device.id): OpenCL clBuildProgram failed"), "\(error.message)")
                #expect(error.message.contains("build log"), "\(error.message)")
                #expect(error.code == .openCL(-11))
                #expect(!error.isAllocationFailure)
            }
        }
    }

    @Test("one context per device: every engine and probe on a device shares its resources")
    func oneContextPerDevice() throws {
        // Backends of different settings, as a run and its bench or tests make them: engines and
        // probes take their resources from `resources(for:)`.
        let plain = try OpenCLBackend(), gpu = try OpenCLBackend(settings: .init(overrides: .typicalGPU, variant: .localTiled))
        for device in try plain.openCLDevices {
            let first = try plain.resources(for: device.id), second = try gpu.resources(for: device.id)
            #expect(first === second)
            #expect(first === (try OpenCLDeviceResources.shared(for: device)))
            // And the engines built meanwhile leave them as they were.
            _ = try plain.engine(for: device.id)
            _ = try gpu.engine(for: device.id)
            #expect(try plain.resources(for: device.id) === first)
        }
    }

    @Test("a system call's failure keeps its errno beside the message, which is unchanged")
    func systemErrorsKeepErrno() throws {
        let missing = TestFiles.path("no-such-input.npy")
        do {
            _ = try InputFile.open(missing, what: "input")
            Issue.record("opened a file that does not exist")
        } catch let error as SaegeoError {
            #expect(error.code == .errno(ENOENT))
            #expect(!error.isAllocationFailure)
            #expect(error.message == "cannot read input \(missing): No such file or directory; check the path and its permissions")
        }
        // Only the codes of "out of memory" are allocation failures.
        let statuses: [Int32] = [-4, -5, -6, -61, -30]
        let failures = statuses.map { SaegeoError(.device, "", code: .openCL($0)).isAllocationFailure }
        #expect(failures == [true, true, true, true, false])
        #expect(!SaegeoError(.device, "").isAllocationFailure)
    }
}
