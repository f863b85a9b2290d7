import Foundation
import Testing
@testable import SaegeoCore

/// Runs the kernels under oclgrind, an OpenCL device simulator that reports out-of-bounds
/// accesses, data races and reads of uninitialised memory. Small shapes: simulation is slow.
/// CI installs oclgrind and sets SAEGEO_REQUIRE_OCLGRIND=1, so there a missing oclgrind fails.
@Suite(.serialized)
struct OclgrindTests {
    struct Case: CustomStringConvertible, Sendable {
        let description: String
        let environment: [String: String]
        let k: String
        /// Query every third feature instead of all (queries against keys, not all pairs).
        var subset = false
    }

    static let cases: [Case] = [
        Case(description: "direct kernels", environment: ["SAEGEO_OPENCL_VARIANT": "direct"], k: "5"),
        Case(description: "tiled kernels, GPU limits", environment: [
            "SAEGEO_OPENCL_VARIANT": "tiled", "SAEGEO_OPENCL_MAX_WORK_GROUP": "256",
            "SAEGEO_OPENCL_LOCAL_MEMORY": "49152"], k: "5"),
        Case(description: "tiled kernels, 64 items, many tiles, k beyond the keys", environment: [
            "SAEGEO_OPENCL_VARIANT": "tiled", "SAEGEO_OPENCL_MAX_WORK_GROUP": "64",
            "SAEGEO_OPENCL_MAX_ALLOCATION": "65536"], k: "80"),
        Case(description: "direct kernels, queries against keys, many tiles", environment: [
            "SAEGEO_OPENCL_VARIANT": "direct", "SAEGEO_OPENCL_MAX_ALLOCATION": "65536"], k: "7", subset: true),
    ]

    @Test("kernels run clean under oclgrind and match the cpu", arguments: cases)
    func clean(_ testCase: Case) throws {
        guard let oclgrind = CommandRunner.which("oclgrind") else {
            #expect(ProcessInfo.processInfo.environment["SAEGEO_REQUIRE_OCLGRIND"] == nil,
                    "oclgrind is required here but not installed (apt-get install oclgrind)")
            return
        }
        let dictionary = try TestDictionary.make(features: 77, dimension: 200, seed: 31, dead: [6], duplicates: [(9, 1), (10, 1)])
        let queries = testCase.subset
            ? ["--queries", try TestFiles.write(stride(from: 0, to: 77, by: 3).map(String.init).joined(separator: "\n"), to: "oclgrind-queries.txt")]
            : []
        let cpuOut = TestFiles.path("oclgrind-cpu-\(testCase.k)-\(testCase.subset).safetensors")
        let cpu = try CommandRunner.saegeo(["neighbors", "--sae", dictionary.path, "-k", testCase.k, "-o", cpuOut, "--device", "cpu"] + queries)
        #expect(cpu.status == 0, "\(cpu.stderr)")
        let out = TestFiles.path("oclgrind-\(testCase.description.hashValue).safetensors")
        let run = try CommandRunner.run(oclgrind, ["--data-races", "--uninitialized", "--check-api",
                                                   CommandRunner.saegeo, "neighbors", "--sae", dictionary.path,
                                                   "-k", testCase.k, "-o", out, "--device", "opencl:0"] + queries,
                                        environment: testCase.environment)
        #expect(run.status == 0, "\(run.stderr.prefix(2000))")
        // Everything oclgrind reports goes to stderr; saegeo itself prints only its summary line.
        let reports = run.stderr.split(separator: "\n").filter { !$0.hasPrefix("saegeo: neighbors on") && !$0.isEmpty }
        #expect(reports.isEmpty, "oclgrind reported: \(reports.prefix(12).joined(separator: "\n"))")
        #expect(run.stderr.contains("Oclgrind"), "did not run on the oclgrind device: \(run.stderr.prefix(300))")
        let simulated = try SafetensorsContents(path: out), reference = try SafetensorsContents(path: cpuOut)
        #expect(simulated.int64("indices") == reference.int64("indices"))
        #expect(simulated.float32("scores").map(\.bitPattern) == reference.float32("scores").map(\.bitPattern))
    }
}
