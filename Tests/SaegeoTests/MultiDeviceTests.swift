import Foundation
import Testing
@testable import SaegeoCore

/// Several PoCL devices (POCL_DEVICES="pthread pthread"), memory budgets, all pairs, plan and
/// interruption, through the saegeo executable as users run it.
@Suite(.serialized)
struct MultiDeviceTests {
    static let twoDevices = ["POCL_DEVICES": "pthread pthread"]
    static let dictionary = try! TestDictionary.make(features: 611, dimension: 70, seed: 77, dead: [5], duplicates: [(40, 3)])

    func neighbors(_ arguments: [String], device: String, budget: String?) throws -> SafetensorsContents {
        let out = TestFiles.path("multi-\(device.replacingOccurrences(of: ",", with: "+"))-\(budget ?? "none")-\(arguments.hashValue).safetensors")
        var args = ["neighbors", "--sae", Self.dictionary.path, "-o", out, "--device", device] + arguments
        if let budget { args += ["--memory-budget", budget] }
        let run = try CommandRunner.saegeo(args, environment: Self.twoDevices)
        #expect(run.status == 0, "\(device) \(budget ?? ""): \(run.stderr)")
        return try SafetensorsContents(path: out)
    }

    @Test("opencl:0, opencl:1, both, cpu and cpu+opencl:0, with and without a 4 MiB budget, agree bit for bit")
    func devicesAgree() throws {
        let devices = try CommandRunner.saegeo(["devices", "--json"], environment: Self.twoDevices)
        let list = try JSONSerialization.jsonObject(with: Data(devices.stdout.utf8)) as! [[String: Any]]
        try #require(list.count >= 3, "POCL_DEVICES did not give two OpenCL devices: \(devices.stdout)")
        let queries = try TestFiles.write((0..<611).filter { $0 % 3 == 0 }.map(String.init).joined(separator: "\n"), to: "multi-queries.txt")
        let reference = Self.dictionary.referenceNeighbors(queries: (0..<611).filter { $0 % 3 == 0 }, keys: Array(0..<611), k: 9)
        var first: SafetensorsContents?
        for device in ["opencl:0", "opencl:1", "opencl:0,opencl:1", "cpu", "cpu,opencl:0", "opencl:all"] {
            for budget in [nil, "4MiB"] {
                let file = try neighbors(["--queries", queries, "-k", "9"], device: device, budget: budget)
                #expect(file.int64("indices") == reference.indices, "\(device) \(budget ?? "")")
                if let first {
                    #expect(file.float32("scores").map(\.bitPattern) == first.float32("scores").map(\.bitPattern), "\(device) \(budget ?? "")")
                } else {
                    first = file
                }
            }
        }
    }

    @Test("all pairs under a 1 MiB budget match the float64 reference on cpu, opencl:0 and both")
    func allPairsSmallBudget() throws {
        let reference = Self.dictionary.referenceNeighbors(queries: Array(0..<611), keys: Array(0..<611), k: 12)
        for device in ["cpu", "opencl:0", "opencl:0,opencl:1", "cpu,opencl:1"] {
            let file = try neighbors(["-k", "12"], device: device, budget: "1MiB")
            #expect(file.int64("indices") == reference.indices, "\(device)")
            #expect(zip(file.float32("scores"), reference.scores).allSatisfy { $0 == $1 || abs($0 - $1) <= 1e-6 }, "\(device)")
        }
    }

    @Test("a budget too small to work is one clear line naming the budget that would")
    func budgetTooSmall() throws {
        let out = TestFiles.path("multi-too-small.safetensors")
        let run = try CommandRunner.saegeo(["neighbors", "--sae", Self.dictionary.path, "-k", "5", "-o", out,
                                            "--device", "opencl:0", "--memory-budget", "16KiB"], environment: Self.twoDevices)
        #expect(run.status == 1)
        #expect(run.stderr.split(separator: "\n").count == 1 && run.stderr.contains("--memory-budget"), "\(run.stderr)")
        #expect(!FileManager.default.fileExists(atPath: out))
        let bad = try CommandRunner.saegeo(["neighbors", "--sae", Self.dictionary.path, "-k", "5", "-o", out,
                                            "--device", "cpu", "--memory-budget", "plenty"])
        #expect(bad.status != 0 && bad.stderr.contains("not a byte count"), "\(bad.stderr)")
    }

    @Test("plan --json reports FLOPs (all pairs counted once) and estimated seconds")
    func planJSON() throws {
        let run = try CommandRunner.saegeo(["plan", "--sae", Self.dictionary.path, "-k", "8", "--assume-memory", "80GiB",
                                            "--assume-max-allocation", "20GiB", "--assume-gflops", "1000", "--json"])
        #expect(run.status == 0, "\(run.stderr)")
        let report = try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as! [String: Any]
        let flops = try #require(report["flops"] as? Double)
        // Tiles of sizes s_i: pairs I <= J once each, d * (n^2 + sum s_i^2) in all.
        let devices = try #require(report["devices"] as? [[String: Any]])
        let tile = try #require(devices.first?["key_tile"] as? Int)
        let sizes = stride(from: 0, to: 611, by: tile).map { min(tile, 611 - $0) }
        #expect(flops == 70 * (611.0 * 611 + Double(sizes.map { $0 * $0 }.reduce(0, +))))
        #expect(report["all_pairs"] as? Bool == true)
        // The arithmetic at 1000 GFLOP/s plus the transfers at the default 25 GB/s (issue 22).
        let seconds = try #require(report["estimated_seconds"] as? Double)
        let transfer = try #require(report["transfer_bytes"] as? Double)
        #expect(abs(seconds - (flops / 1e12 + transfer / 25e9)) < 1e-9)
    }

    @Test("--device cpu loads no OpenCL platform (PoCL's LLVM: about 60 MiB and 70 ms); auto and opencl:0 do")
    func cpuAloneLoadsNoOpenCLPlatform() throws {
        // The dynamic loader names every library it opens (LD_DEBUG=files, on stderr).
        func loadsPoCL(_ device: String) throws -> Bool {
            let out = TestFiles.path("platforms-\(device.replacingOccurrences(of: ":", with: "-")).safetensors")
            let run = try CommandRunner.saegeo(["neighbors", "--sae", Self.dictionary.path, "-k", "3", "-o", out, "--device", device],
                                               environment: ["LD_DEBUG": "files"])
            #expect(run.status == 0, "\(device): \(run.stderr.suffix(400))")
            return run.stderr.contains("libpocl")
        }
        #expect(try !loadsPoCL("cpu"))
        #expect(try loadsPoCL("opencl:0"))
        #expect(try loadsPoCL("auto"))
    }

    @Test("Ctrl-C stops a run cleanly: non-zero exit, no output file")
    func interrupt() throws {
        // Large enough to outlast the 1.5 s wait in a debug build (6000 features no longer did).
        let big = try TestDictionary.make(features: 12000, dimension: 1500, seed: 5)
        let out = TestFiles.path("interrupted.safetensors")
        let process = Process()
        process.executableURL = URL(fileURLWithPath: CommandRunner.saegeo)
        process.arguments = ["neighbors", "--sae", big.path, "-k", "10", "-o", out, "--device", "cpu", "--memory-budget", "16MiB"]
        let err = Pipe()
        process.standardError = err
        try process.run()
        Thread.sleep(forTimeInterval: 1.5)
        process.interrupt()
        process.waitUntilExit()
        let stderr = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        #expect(process.terminationStatus != 0, "finished before the interrupt? \(stderr)")
        #expect(stderr.contains("interrupted"), "\(stderr)")
        #expect(!FileManager.default.fileExists(atPath: out))
    }
}
