import Foundation
import SaegeoCAPI
import SaegeoCore
import Testing

/// The C interface of saegeo.h against the CLI's file jobs on generated jobs: the same neighbours
/// bit for bit, the CLI's descriptions, and its errors' messages with the status of their kind.
struct CAPITests {
    static let example = ExampleJob.inTestFolder("capi", features: 300, dimension: 48, samples: 90, tokens: 3, seed: 17)
    static let other = ExampleJob.inTestFolder("capi-other", features: 200, dimension: 48, samples: 10, tokens: 2, seed: 5)

    @Test("version, devices and an SAE's description are the CLI's")
    func descriptions() throws {
        #expect(String(cString: saegeo_version()) == SaegeoVersion.current)
        let devices = try CAPI.json(try CAPI.string { saegeo_devices_json($0) }) as! [[String: Any]]
        #expect(devices.map { $0["id"] as! String } == (try DeviceCatalog.standard().descriptions.map(\.id)))
        #expect(devices.last?["type"] as? String == "cpu" && devices.last?["global_memory_bytes"] is Int)
        #expect(String(cString: saegeo_last_error()) == "")

        let sae = try CAPI.openSAE(Self.example.saePath)
        defer { saegeo_sae_free(sae) }
        let info = try CAPI.json(try CAPI.string { saegeo_sae_info_json(sae, $0) }) as! [String: Any]
        let checkpoint = try SAESource(path: Self.example.saePath).open()
        #expect(info["d_sae"] as? Int == 300 && info["d_model"] as? Int == 48)
        #expect(info["format"] as? String == checkpoint.format.rawValue)
        #expect(info["architecture"] as? String == checkpoint.architecture?.description)
        #expect(info["dtype"] as? String == checkpoint.decoderTensor.dtype)
    }

    @Test("opening a bad SAE gives the CLI's message and its kind's status; NULL arguments are refused")
    func badSAE() throws {
        let missing = TestFiles.path("capi-no-such-sae")
        var cliMessage = ""
        do { _ = try SAESource(path: missing).open() } catch let error as SaegeoError { cliMessage = error.message }
        let failed = CAPI.failure { _ = try CAPI.openSAE(missing) }
        #expect(failed.message == cliMessage && !cliMessage.isEmpty)
        #expect(failed.status == 1 || failed.status == 3, "\(failed)")
        #expect(CAPI.failure { _ = try CAPI.openSAE(Self.example.saePath, format: "no-such-format") }.status == 5)
        var sae: UnsafeMutableRawPointer?
        #expect(saegeo_sae_open(nil, nil, &sae) == 1 && sae == nil)
        #expect(saegeo_sae_info_json(nil, nil) == 1)
        #expect(String(cString: saegeo_last_error()).contains("NULL"))
        saegeo_sae_free(nil)
        saegeo_scorer_free(nil)
        saegeo_result_free(nil)
        #expect(saegeo_result_samples(nil) == 0)
    }

    /// The CLI's neighbours (`saegeo neighbors -o OUT.safetensors`) for the same arguments.
    func cliNeighbors(k: Int, queries: [Int]?, keys: [Int]?, keysSAE: String?, name: String) throws -> (indices: [Int64], scores: [Float]) {
        var job = NeighborsJob(sae: SAESource(path: Self.example.saePath), k: k, output: TestFiles.path("capi-\(name).safetensors"))
        if let queries { job.queries = try TestFiles.write(queries.map(String.init).joined(separator: "\n") + "\n", to: "capi-\(name)-q.txt") }
        if let keys { job.keys = try TestFiles.write(keys.map(String.init).joined(separator: "\n") + "\n", to: "capi-\(name)-k.txt") }
        job.keysSAE = keysSAE.map { SAESource(path: $0) }
        try job.run(on: JobDevices([try CPUBackend(precision: .auto).engine(for: "cpu")]), events: .silent, cancellation: Cancellation())
        let written = try SafetensorsContents(path: job.output)
        return (written.int64("indices"), written.float32("scores"))
    }

    func capiNeighbors(_ sae: UnsafeMutableRawPointer, k: Int, queries: [Int]?, keys: [Int]?, keysSAE: UnsafeMutableRawPointer? = nil,
                       features: Int, cancel: UnsafeMutableRawPointer? = nil, count: CAPI.ProgressCount? = nil) throws -> (indices: [Int64], scores: [Float]) {
        let q = queries?.map(Int64.init), kk = keys?.map(Int64.init)
        let rows = q?.count ?? features
        var indices = [Int64](repeating: -7, count: rows * k), scores = [Float](repeating: .nan, count: rows * k)
        let user = count.map { Unmanaged.passUnretained($0).toOpaque() }
        try CAPI.withOptional(q) { qp in
            try CAPI.withOptional(kk) { kp in
                try CAPI.check(saegeo_neighbors(sae, Int64(k), qp, Int64(q?.count ?? 0), kp, Int64(kk?.count ?? 0), keysSAE, "cpu", nil, -1,
                                                cancel, count == nil ? nil : CAPI.progress, user, &indices, &scores))
            }
        }
        return (indices, scores)
    }

    @Test("neighbours are bit-identical to `saegeo neighbors`: all, subsets, a second dictionary, k past the keys")
    func neighbors() throws {
        let sae = try CAPI.openSAE(Self.example.saePath), keysSAE = try CAPI.openSAE(Self.other.saePath)
        defer { saegeo_sae_free(sae); saegeo_sae_free(keysSAE) }
        let count = CAPI.ProgressCount()
        let all = try capiNeighbors(sae, k: 5, queries: nil, keys: nil, features: 300, count: count)
        let cliAll = try cliNeighbors(k: 5, queries: nil, keys: nil, keysSAE: nil, name: "all")
        #expect(all.indices == cliAll.indices && all.scores.map(\.bitPattern) == cliAll.scores.map(\.bitPattern))
        #expect(count.calls.current > 0 && count.lastTotal.current > 0)

        let queries = [7, 0, 299, 150], keys = Array(stride(from: 0, to: 300, by: 3))
        let subset = try capiNeighbors(sae, k: 4, queries: queries, keys: keys, features: 300)
        let cliSubset = try cliNeighbors(k: 4, queries: queries, keys: keys, keysSAE: nil, name: "subset")
        #expect(subset.indices == cliSubset.indices && subset.scores.map(\.bitPattern) == cliSubset.scores.map(\.bitPattern))

        let across = try capiNeighbors(sae, k: 3, queries: queries, keys: nil, keysSAE: keysSAE, features: 300)
        let cliAcross = try cliNeighbors(k: 3, queries: queries, keys: nil, keysSAE: Self.other.saePath, name: "across")
        #expect(across.indices == cliAcross.indices && across.scores.map(\.bitPattern) == cliAcross.scores.map(\.bitPattern))

        // Fewer keys than k: the empty slots are -1 (and -inf), as the CLI writes them.
        let few = try capiNeighbors(sae, k: 6, queries: [1, 2], keys: [10, 20, 30], features: 300)
        let cliFew = try cliNeighbors(k: 6, queries: [1, 2], keys: [10, 20, 30], keysSAE: nil, name: "few")
        #expect(few.indices == cliFew.indices && few.indices.filter { $0 == -1 }.count == 6)
    }

    @Test("bad neighbour arguments and a cancelled search give their status and one line")
    func neighborErrors() throws {
        let sae = try CAPI.openSAE(Self.example.saePath)
        defer { saegeo_sae_free(sae) }
        let outOfRange = CAPI.failure { _ = try capiNeighbors(sae, k: 3, queries: [0, 300], keys: nil, features: 300) }
        #expect(outOfRange.status == 1 && outOfRange.message.contains("300 is out of range"), "\(outOfRange)")
        let badK = CAPI.failure { _ = try capiNeighbors(sae, k: 0, queries: [1], keys: nil, features: 300) }
        #expect(badK.status == 5 && badK.message == "-k must be at least 1 (got 0)", "\(badK)")
        var indices = [Int64](repeating: 0, count: 3), scores = [Float](repeating: 0, count: 3)
        #expect(saegeo_neighbors(sae, 3, [1], 1, nil, 0, nil, "no-such-device", nil, -1, nil, nil, nil, &indices, &scores) == 1)
        #expect(String(cString: saegeo_last_error()).hasPrefix("unknown device 'no-such-device'"))
        #expect(saegeo_neighbors(sae, 3, [1], 1, nil, 0, nil, "cpu", nil, -1, nil, nil, nil, nil, &scores) == 1)
        #expect(saegeo_neighbors(sae, 3, [1], 1, nil, 0, nil, "cpu", "float16", -1, nil, nil, nil, &indices, &scores) == 1)
        #expect(String(cString: saegeo_last_error()) == "precision must be auto, float32 or bfloat16, not 'float16'")
        // Either precision gives the same bits (bfloat16 is a certified first pass).
        var float32 = ([Int64](repeating: 0, count: 300 * 5), [Float](repeating: 0, count: 300 * 5))
        var bfloat16 = float32
        try CAPI.check(saegeo_neighbors(sae, 5, nil, 0, nil, 0, nil, "cpu", "float32", -1, nil, nil, nil, &float32.0, &float32.1))
        try CAPI.check(saegeo_neighbors(sae, 5, nil, 0, nil, 0, nil, "cpu", "bfloat16", -1, nil, nil, nil, &bfloat16.0, &bfloat16.1))
        #expect(float32.0 == bfloat16.0 && float32.1.map(\.bitPattern) == bfloat16.1.map(\.bitPattern))

        let token = saegeo_cancel_new()
        defer { saegeo_cancel_free(token) }
        saegeo_cancel(token)
        let cancelled = CAPI.failure { _ = try capiNeighbors(sae, k: 3, queries: nil, keys: nil, features: 300, cancel: token) }
        #expect(cancelled.status == 6 && cancelled.message.hasPrefix("interrupted"), "\(cancelled)")
        // The handle is still usable after the failures.
        #expect(try capiNeighbors(sae, k: 2, queries: [5], keys: nil, features: 300).indices.count == 2)
    }
}
