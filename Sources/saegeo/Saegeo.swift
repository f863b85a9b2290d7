import ArgumentParser
import Foundation
import SaegeoCore

@main
struct Saegeo: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "saegeo",
        abstract: "How close a fine-tuning dataset sits to toxic features in an SAE's feature geometry.",
        version: Saegeo.version,
        subcommands: [Devices.self, Inspect.self, Neighbors.self, Plan.self, Score.self, Filter.self, Merge.self, Bench.self, Tune.self, Generate.self, Demo.self])

    static let version = "0.4.0"

    /// Starts over with OPENBLAS_CORETYPE set when OpenBLAS loaded generic kernels on a CPU that
    /// has better ones (BLASCoreChoice); if the exec fails, it runs on as it is.
    static func main() {
        if let core = BLASCoreChoice.betterCore() {
            setenv("OPENBLAS_CORETYPE", core, 1)
            execv("/proc/self/exe", CommandLine.unsafeArgv)
        }
        Self.main(nil)
    }

    /// Runs a command body, turning saegeo's errors into one line on stderr and exit status 1.
    static func reporting(_ body: () throws -> Void) throws {
        do {
            try body()
        } catch let error as SaegeoError {
            Console.error(error.message)
            throw ExitCode(1)
        } catch let error as OpenCLError {
            Console.error(error.description)
            throw ExitCode(1)
        }
    }
}
