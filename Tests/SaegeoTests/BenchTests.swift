import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
import Testing
@testable import SaegeoCore

/// `saegeo bench`, `bench compare` and `tune` through the executable, on cpu and PoCL.
@Suite(.serialized)
struct BenchTests {
    static var hasOpenCL: Bool { TestBackends.hasOpenCL }

    /// Every figure is there, positive and finite, and no workload beats its device's peak.
    func checkReport(_ path: String, ids: [String]) throws -> BenchReport {
        let report = try BenchReport.read(path)
        #expect(report.devices.map(\.id) == ids)
        #expect(report.host.cores > 0 && report.version == BenchReport.currentVersion)
        for device in report.devices {
            let positive = [device.peakGflops, device.bandwidthGbs] + device.similarityGflops.values + device.topkCandidatesPerS.values
            #expect(positive.allSatisfy { $0.isFinite && $0 > 0 }, "\(device.id): \(positive)")
            #expect(Set(device.similarityGflops.keys) == ["2304", "3584", "4608"])
            #expect(Set(device.topkCandidatesPerS.keys) == ["1", "32", "256"])
            #expect(device.workloads.map(\.name) == ["neighbors", "score"])
            for workload in device.workloads {
                #expect(workload.rows > 0 && workload.rowsPerS > 0 && workload.projectedSeconds > workload.seconds, "\(workload)")
            }
            let figures = Array(device.similarityGflops.values) + device.workloads.map(\.gflops)
            #expect(figures.allSatisfy { $0 <= device.peakGflops }, "\(device.id): a figure above the peak \(device.peakGflops): \(figures)")
            #expect(device.transferGbs == nil || device.transferGbs! > 0)
            #expect(abs(device.similarityPercentOfPeak["2304"]! - 100 * device.similarityGflops["2304"]! / device.peakGflops) < 1e-9)
        }
        return report
    }

    @Test("bench measures cpu and opencl:0, then two PoCL devices; compare prints both runs and draws the bars")
    func benchAndCompare() throws {
        let first = TestFiles.path("bench-1.json"), second = TestFiles.path("bench-2.json"), svg = TestFiles.path("bench.svg")
        let ids = Self.hasOpenCL ? ["cpu", "opencl:0"] : ["cpu"]
        let run = try CommandRunner.saegeo(["bench", "--device", ids.joined(separator: ","), "--budget", "1.5", "--json", first])
        #expect(run.status == 0, "\(run.stderr)")
        #expect(ids.allSatisfy { id in run.stdout.contains("\n" + id + " ") }, "\(run.stdout)")
        _ = try checkReport(first, ids: ids)

        var files = [first]
        if Self.hasOpenCL {
            let two = try CommandRunner.saegeo(["bench", "--device", "opencl:all", "--budget", "1.5", "--json", second],
                                               environment: ["POCL_DEVICES": "pthread pthread"])
            #expect(two.status == 0, "\(two.stderr)")
            _ = try checkReport(second, ids: ["opencl:0", "opencl:1"])
            files.append(second)
        }

        let compare = try CommandRunner.saegeo(["bench", "compare"] + files + ["--svg", svg])
        #expect(compare.status == 0, "\(compare.stderr)")
        let rows = compare.stdout.split(separator: "\n").filter { $0.hasPrefix("bench-") }
        #expect(rows.count == ids.count + (Self.hasOpenCL ? 2 : 0), "\(compare.stdout)")
        // A valid SVG with one bar per device in each of the 4 panels.
        let data = try Data(contentsOf: URL(fileURLWithPath: svg))
        let counter = BarCounter()
        let parser = XMLParser(data: data)
        parser.delegate = counter
        #expect(parser.parse(), "the SVG is not well-formed XML: \(String(describing: parser.parserError))")
        #expect(counter.root == "svg")
        #expect(counter.bars == 4 * rows.count, "\(counter.bars) bars")

        let bad = try CommandRunner.saegeo(["bench", "compare", TestFiles.path("bench.svg")])
        #expect(bad.status == 1 && bad.stderr.contains("is not a 'saegeo bench --json' file"), "\(bad.stderr)")
        let none = try CommandRunner.saegeo(["bench", "--device", "opencl:9"])
        #expect(none.status == 1 && none.stderr.contains("unknown device"), "\(none.stderr)")
    }

    @Test("tune keeps correct configurations that fit, matches or beats the default, and later runs use its cache")
    func tune() throws {
        guard Self.hasOpenCL else { return }
        let cache = TestFiles.path("tuning.json")
        let run = try CommandRunner.saegeo(["tune", "--device", "opencl:0", "--quick"], environment: ["SAEGEO_TUNING_CACHE": cache])
        #expect(run.status == 0, "\(run.stderr)")
        let entries = TuningCache(path: cache).entries()
        #expect(entries.count == 1)
        let entry = try #require(entries.values.first)
        #expect(entry.gflops >= entry.defaultGflops && entry.configuration != nil, "\(entry)")

        // A later run on the device uses the tuned kernels, says so, and gets the same answer.
        let dictionary = try TestDictionary.make(features: 300, dimension: 45, seed: 12)
        let tuned = TestFiles.path("tuned.safetensors"), plain = TestFiles.path("untuned.safetensors")
        let a = try CommandRunner.saegeo(["neighbors", "--sae", dictionary.path, "-k", "5", "-o", tuned, "--device", "opencl:0"],
                                         environment: ["SAEGEO_TUNING_CACHE": cache])
        #expect(a.status == 0 && a.stderr.contains("(tuned, from \(cache))"), "\(a.stderr)")
        let b = try CommandRunner.saegeo(["neighbors", "--sae", dictionary.path, "-k", "5", "-o", plain, "--device", "opencl:0"])
        #expect(b.status == 0 && !b.stderr.contains("(tuned"), "\(b.stderr)")
        let x = try SafetensorsContents(path: tuned), y = try SafetensorsContents(path: plain)
        #expect(x.tensors["indices"]?.bytes == y.tensors["indices"]?.bytes && x.tensors["scores"]?.bytes == y.tensors["scores"]?.bytes)
    }

    @Test("the tuning search space holds only configurations within the limits, the default among them")
    func searchSpace() throws {
        for limits in [DeviceLimits(globalMemoryBytes: 1 << 34, maxAllocationBytes: 1 << 32, localMemoryBytes: 48 << 10, maxWorkGroupSize: 256),
                       DeviceLimits(globalMemoryBytes: 1 << 30, maxAllocationBytes: 1 << 28, localMemoryBytes: 8 << 10, maxWorkGroupSize: 64)] {
            for quick in [false, true] {
                let candidates = KernelTuner.candidates(limits: limits, quick: quick)
                #expect(!candidates.isEmpty && candidates.allSatisfy { $0.fits(limits) })
                #expect(Set(candidates.map(\.variant)) == [.localTiled, .direct])
                if !quick {
                    for kind in [DeviceKind.gpu, .cpu] {
                        #expect(candidates.contains(try KernelConfiguration.choose(for: limits, kind: kind)))
                    }
                }
            }
        }
    }
}

/// Counts the SVG's bars (rects with a title) and remembers the root element.
final class BarCounter: NSObject, XMLParserDelegate {
    var root: String?
    var bars = 0
    private var inRect = false

    func parser(_ parser: XMLParser, didStartElement name: String, namespaceURI: String?, qualifiedName: String?,
                attributes: [String: String] = [:]) {
        if root == nil { root = name }
        if name == "rect" { inRect = true }
        if name == "title", inRect { bars += 1 }
    }

    func parser(_ parser: XMLParser, didEndElement name: String, namespaceURI: String?, qualifiedName: String?) {
        if name == "rect" { inRect = false }
    }
}
