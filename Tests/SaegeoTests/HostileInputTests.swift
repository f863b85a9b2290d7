import Foundation
import Testing
@testable import SaegeoCore

/// Issue 21, items 11 to 14 and 17: what a person types and what files say is read strictly (one
/// decimal-number reader, typed configs), contradictions are refused in one line, messages are
/// saegeo's own (never Foundation's sentences, never Swift's debug form), and file-borne text is
/// printed terminal-safe.
@Suite(.serialized)
struct HostileInputTests: HostileSuite {
    // MARK: Numbers

    @Test("one decimal-number reader: no '+', hex, spaces, nan or inf; -0 and +3 are not ids")
    func decimalNumbers() {
        for good in ["0", "12", "-3", "0.5", "-0.25", "1e-3", "2E+5", "007"] { #expect(DecimalNumber.double(good) != nil, "\(good)") }
        for bad in ["+5", "0x10", "0x1p-3", " 1", "1 ", "nan", "inf", "-inf", "1.", ".5", "", "-", "1e", "1e999", "١٢"] {
            #expect(DecimalNumber.double(bad) == nil, "\(bad)")
        }
        #expect(DecimalNumber.int("1.0") == nil && DecimalNumber.int("1e2") == nil && DecimalNumber.int("-4") == -4)
        #expect(DecimalNumber.nonNegativeInt("-0") == nil && DecimalNumber.nonNegativeInt("+3") == nil && DecimalNumber.nonNegativeInt("3") == 3)
        #expect(DecimalNumber.uint64("18446744073709551615") == .max && DecimalNumber.uint64("-5") == nil)
        #expect(DecimalNumber.problem("999999999999999999999", integer: true) == "too large")
    }

    @Test("command-line numbers are decimal; --seed -5 says what a seed is", arguments: [
        (["-k", "0x10"], "-k"), (["-k", "+5"], "-k"), (["-k", "5", "--progress-interval", "0x1p-3"], "--progress-interval"),
        (["-k", " 5"], "-k"), (["-k", "5", "--progress-interval", "nan"], "--progress-interval"),
    ])
    func commandLineNumbers(arguments: [String], option: String) throws {
        let run = try CommandRunner.saegeo(["neighbors", "--sae", Self.example.saePath, "-o", TestFiles.path("never.safetensors")] + arguments)
        Self.expectOneLineError(run, "invalid for '\(option)", "decimal")
        let seed = try CommandRunner.saegeo(scoreArguments(TestFiles.path("never.jsonl"), extra: ["--seed", "-5"]))
        Self.expectOneLineError(seed, "a seed is a whole number from 0")
    }

    @Test("byte counts are exact whole bytes: 0.5B refused, 30 digits too large, 1.5GiB exact")
    func byteCounts() throws {
        #expect(try ByteCount.parse("1.5GiB") == 3 << 29 && ByteCount.parse("0.5KiB") == 512 && ByteCount.parse("4 MiB") == 4 << 20)
        #expect(try ByteCount.parse("1.1KB") == 1100 && ByteCount.parse("4096") == 4096 && ByteCount.parse("1e3B") == 1000)
        for (text, words) in [("0.5B", "not a whole number of bytes"), ("1.0001KiB", "not a whole number of bytes"),
                              ("123456789012345678901234567890", "too large"), ("9EiB", "not a byte count"),
                              ("5000000TiB", "too large"), ("+4MiB", "not a byte count"), ("0x10", "not a byte count"),
                              (" 4MiB", "not a byte count"), ("0", "zero"), ("nanB", "not a byte count")] {
            let error = try #require(throws: SaegeoError.self, "\(text)") { try ByteCount.parse(text) }
            #expect(error.message.contains(words), "\(text): \(error.message)")
        }
        let run = try CommandRunner.saegeo(["neighbors", "--sae", Self.example.saePath, "-k", "2", "-o", TestFiles.path("never.safetensors"),
                                            "--memory-budget", "0.5B"])
        Self.expectOneLineError(run, "not a whole number of bytes")
    }

    @Test("id files: +3, -0, hex and a fraction are not ids (spaces around a line are layout, kept as before)", arguments: ["+3", "-0", "0x3", "3.0", "3 4", "99999999999999999999"])
    func idFiles(line: String) throws {
        let path = try TestFiles.write("1\n\(line)\n", to: "hostile-input-ids.txt")
        let error = try #require(throws: SaegeoError.self) { try FeatureSelection.file(path).resolve(features: 100, role: "toxic") }
        #expect(error.message.contains("line 2") && error.message.contains("feature id"), "\(error.message)")
        #expect(try FeatureSelection.file(try TestFiles.write("# c\n  \n1\n2\r\n", to: "hostile-input-ids-ok.txt")).resolve(features: 100, role: "toxic") == [1, 2])
    }

    @Test("CSV scores: 0x1p-1, +0.5 and a leading space are not scores (filter and report)", arguments: ["0x1p-1", "+0.5", " 0.5", "nan", "inf"])
    func csvScores(score: String) throws {
        let path = try TestFiles.write("sample,score,active\n0,0.25,3\n1,\(score),2\n", to: "hostile-input-scores.csv")
        let error = try #require(throws: SaegeoError.self) { try SampleScores.read(path) }
        #expect(error.message.contains("line 3"), "\(error.message)")
        var request = ReportRequest()
        request.scores = path
        let reportError = try #require(throws: SaegeoError.self) { try request.build() }
        #expect(reportError.message.contains("line 3"), "\(reportError.message)")
        let good = try TestFiles.write("sample,score,active\n0,0.25,3\n1,1e-3,2\n", to: "hostile-input-scores-ok.csv")
        #expect(try SampleScores.read(good).scores == [0.25, 0.001])
    }

    // MARK: Checkpoint configs

    /// A copy of the example SAE with `cfg` as its cfg.json.
    static func saeWithConfig(_ name: String, _ cfg: [UInt8]) throws -> String {
        let folder = try Self.folder("config-\(name)")
        try FileManager.default.copyItem(atPath: example.saePath + "/sae_weights.safetensors", toPath: folder + "/sae_weights.safetensors")
        try Data(cfg).write(to: URL(fileURLWithPath: folder + "/cfg.json"))
        return folder
    }

    @Test("checkpoint configs: strict JSON and typed fields, TopK k in 1...d_sae", arguments: [
        ("trailing-comma", #"{"architecture": "jumprelu", "d_in": 48, "d_sae": 700,}"#, "not valid JSON"),
        ("architecture-5", #"{"architecture": 5, "d_in": 48, "d_sae": 700}"#, "field 'architecture' is an integer"),
        ("apply-string", #"{"architecture": "jumprelu", "d_in": 48, "d_sae": 700, "apply_b_dec_to_input": "false"}"#, "field 'apply_b_dec_to_input' is a string"),
        ("topk-0", #"{"architecture": "topk", "d_in": 48, "d_sae": 700, "k": 0}"#, "field 'k' is 0, not a valid K for 700 features"),
        ("topk-big", #"{"architecture": "topk", "d_in": 48, "d_sae": 700, "activation_fn_kwargs": {"k": 701}}"#, "field 'activation_fn_kwargs.k' is 701"),
        ("d-sae-string", #"{"architecture": "jumprelu", "d_in": 48, "d_sae": "700"}"#, "field 'd_sae' is a string"),
        ("twice", #"{"architecture": "relu", "architecture": "jumprelu", "d_in": 48}"#, "appears twice"),
    ])
    func checkpointConfigs(name: String, cfg: String, words: String) throws {
        let folder = try Self.saeWithConfig(name, Array(cfg.utf8))
        let error = try #require(throws: SaegeoError.self) { try SAECheckpoint.open(folder) }
        #expect(error.message.contains(folder + "/cfg.json") && error.message.contains(words), "\(error.message)")
        let bom = try Self.saeWithConfig("bom", [0xEF, 0xBB, 0xBF] + Array(#"{"architecture": "jumprelu", "d_in": 48, "d_sae": 700}"#.utf8))
        #expect(throws: SaegeoError.self) { try SAECheckpoint.open(bom) }
        // The example's own config still reads.
        #expect(try SAECheckpoint.open(Self.example.saePath).dSAE == 700)
    }

    // MARK: Messages

    @Test("enum options list their values on the one error line; a single-value option given twice is refused")
    func optionMessages() throws {
        let base = ["neighbors", "--sae", Self.example.saePath, "-k", "2", "-o", TestFiles.path("never.safetensors")]
        Self.expectOneLineError(try CommandRunner.saegeo(base + ["--format", "bogus"]), "saelens", "npy")
        Self.expectOneLineError(try CommandRunner.saegeo(base + ["--layout", "bogus"]), "'rows'", "'columns'")
        Self.expectOneLineError(try CommandRunner.saegeo(base + ["-k", "50"]), "-k given twice", "'2'", "'50'")
        Self.expectOneLineError(try CommandRunner.saegeo(base + ["--device=cpu", "--device", "cpu"]), "--device given twice")
    }

    @Test("JSON values print as JSON, never as Swift's debug form")
    func jsonValuesInMessages() {
        #expect("\(JSONValue.string("<script>"))" == "\"<script>\"")
        #expect(JSONValue.array([.integer(1), .null, .string("a\u{1B}b")]).description == "[1,null,\"a\\u001bb\"]")
    }

    @Test("no Foundation sentence: a non-finite figure and a mis-shaped bench report are named by field")
    func foundationWords() throws {
        struct Figures: Encodable { let mean: Double; let nested: [String: Double] }
        let error = try #require(throws: SaegeoError.self) {
            try JSONCoding.encode(Figures(mean: 1, nested: ["null_std": .nan]), what: "--summary s.json")
        }
        #expect(error.message.contains("--summary s.json") && error.message.contains("null_std") && !error.message.contains("The data"), "\(error.message)")
        let folder = try Self.folder("bench")
        for (name, text, words) in [("shape.json", #"{"version": 1}"#, "field 'saegeo_version' is missing"),
                                    ("type.json", #"{"version": "1"}"#, "field 'version' is not an integer"),
                                    ("syntax.json", "[1,]", "not valid JSON")] {
            try Data(text.utf8).write(to: URL(fileURLWithPath: folder + "/" + name))
            let run = try CommandRunner.saegeo(["bench", "compare", folder + "/" + name, folder + "/" + name])
            Self.expectOneLineError(run, words)
            #expect(!run.stderr.contains("The data"), "\(run.stderr)")
        }
    }

    @Test("a negative storage size in a .pt is said to be one")
    func negativeStorageSize() throws {
        // PROTO 2, ('storage', FloatStorage, '0', 'cpu', -1), BINPERSID, STOP.
        func unicode(_ s: String) -> [UInt8] { [0x58] + withUnsafeBytes(of: UInt32(s.utf8.count).littleEndian, Array.init) + Array(s.utf8) }
        let pickle: [UInt8] = [0x80, 2, 0x28] + unicode("storage") + Array("ctorch\nFloatStorage\n".utf8) + unicode("0") + unicode("cpu")
            + [0x4A, 0xFF, 0xFF, 0xFF, 0xFF, 0x74, 0x51, 0x2E]
        let bytes = CheckpointBytes.zip([("archive/data.pkl", pickle), ("archive/version", Array("3\n".utf8))], deflate: false)
        let error = TorchPickleTests.parse(bytes)
        #expect(error?.message.contains("negative size") == true, "\(error?.message ?? "read")")
    }

    // MARK: Contradictions

    @Test("contradictions are refused in one line before any work")
    func contradictions() throws {
        let never = TestFiles.path("never-written.safetensors")
        try? FileManager.default.removeItem(atPath: never)
        let ex = Self.example
        let contrast = ["contrast", "--sae", ex.saePath, "--activations", ex.activationsPath, "--offsets", "offsets",
                        "--baseline", ex.activationsPath, "--baseline-offsets", "offsets", "--device", "cpu"]
        let cases: [([String], String)] = [
            (["neighbors", "--sae", ex.saePath, "--keys-sae", ex.saePath, "-k", "2", "-o", never, "--min-cosine", "0.5"], "--min-cosine"),
            (contrast + ["-o", never, "--null-sets", "5"], "--null-sets"),
            (contrast + ["-o", never, "--seed", "3"], "--seed"),
            (contrast + ["--toxic", ex.toxicPath, "-o", never, "--null-sets", "100001"], "--null-sets must be between 0 and 100000"),
            (["plan", "--sae", ex.saePath, "-k", "2", "--assume-memory", "8GiB", "--assume-max-allocation", "16GiB"], "--assume-max-allocation"),
            (["plan", "--sae", ex.saePath, "-k", "2", "--assume-max-allocation", "1GiB"], "--assume-memory"),
            (["report", "--scores", ex.activationsPath, "--toxic", ex.toxicPath, "-o", TestFiles.path("never.html")], "--neighbors"),
            (["report", "--summary", ex.activationsPath, "--drop-fraction", "0.1", "-o", TestFiles.path("never.html")], "--scores"),
        ]
        for (arguments, words) in cases {
            Self.expectOneLineError(try CommandRunner.saegeo(arguments), words)
        }
        #expect(!FileManager.default.fileExists(atPath: never))
    }

    @Test("report: a negative null_std, a contrast t of nan and a feature twice are refused; toxic ids the neighbours lack too")
    func reportInputs() throws {
        let folder = try Self.folder("report-inputs")
        let summary = folder + "/summary.json"
        try Data(#"{"mean_proximity": 0.5, "null_mean": 0.4, "null_std": -0.1, "z_score": 1}"#.utf8).write(to: URL(fileURLWithPath: summary))
        var request = ReportRequest()
        request.summary = summary
        #expect((try? request.build()) == nil)
        for (name, text, words) in [("nan.csv", "feature,t\n1,2.5\n2,nan\n", "not a number"),
                                    ("twice.csv", "feature,t\n1,2.5\n1,3\n", "appears a second time"),
                                    ("plus.csv", "feature,t\n+1,2.5\n", "feature id"),
                                    ("twice.jsonl", "{\"feature\": 4, \"t\": 1}\n{\"feature\": 4, \"t\": \"inf\"}\n", "appears a second time")] {
            var contrast = ReportRequest()
            contrast.contrast = folder + "/" + name
            try Data(text.utf8).write(to: URL(fileURLWithPath: contrast.contrast!))
            let error = try #require(throws: SaegeoError.self) { try contrast.build() }
            #expect(error.message.contains(words), "\(name): \(error.message)")
        }
        var ok = ReportRequest()
        ok.contrast = folder + "/ok.csv"
        try Data("feature,t,dead\n1,inf,0\n2,-1e-3,0\n3,nan,1\n".utf8).write(to: URL(fileURLWithPath: ok.contrast!))
        #expect(try ok.build().contrast?.rows.map(\.feature) == [1, 2, 3])
        // Neighbours of queries 0 and 1, and toxic ids 1 and 5: 5 has no row.
        let neighbours = folder + "/neighbours.safetensors"
        let queries = try TestFiles.write("0\n1\n", to: "hostile-input-queries.txt")
        let toxic = try TestFiles.write("1\n5\n", to: "hostile-input-toxic.txt")
        #expect(try CommandRunner.saegeo(["neighbors", "--sae", Self.example.saePath, "--queries", queries, "-k", "2", "-o", neighbours, "--device", "cpu"]).status == 0)
        Self.expectOneLineError(try CommandRunner.saegeo(["report", "--neighbors", neighbours, "--toxic", toxic, "-o", folder + "/r.html"]),
                                "no row for 1 of the 2 toxic features (5)")
    }

    // MARK: Item 17

    @Test("inspect prints a tensor name's ESC sequence escaped")
    func inspectEscapes() throws {
        let folder = try Self.folder("inspect")
        let path = folder + "/bare.safetensors"
        let header = #"{"W_dec\u001b[2J\u001b]0;owned\u0007": {"dtype": "F32", "shape": [2, 2], "data_offsets": [0, 16]}}"#
        try CheckpointBytes.write(CheckpointBytes.safetensors(header: header, data: [UInt8](repeating: 0, count: 16)), to: path)
        let run = try CommandRunner.saegeo(["inspect", path])
        #expect(run.status == 0, "\(run.stderr)")
        #expect(!run.stdout.contains("\u{1B}") && !run.stdout.contains("\u{07}") && run.stdout.contains("W_dec\\u001b[2J"), "\(run.stdout.debugDescription)")
    }

    @Test("generate refuses a folder that holds files, and leaves them as they were")
    func generateIntoFolder() throws {
        let folder = try Self.folder("generate")
        try Data("mine".utf8).write(to: URL(fileURLWithPath: folder + "/toxic.txt"))
        Self.expectOneLineError(try CommandRunner.saegeo(["generate", folder, "--features", "64", "--dimension", "8", "--samples", "4"]), "holds 1 entry")
        #expect(Self.contents(folder + "/toxic.txt") == Data("mine".utf8) && Self.listing(folder) == ["toxic.txt"])
    }

    @Test("a shard count above the work is refused before any work")
    func shardCounts() throws {
        let folder = try Self.folder("shards")
        let queries = try TestFiles.write("0\n1\n2\n", to: "hostile-input-shard-queries.txt")
        let huge = "0/9223372036854775807"
        Self.expectOneLineError(try CommandRunner.saegeo(["neighbors", "--sae", Self.example.saePath, "--queries", queries, "-k", "2",
                                                          "-o", folder + "/n.safetensors", "--shard", huge, "--device", "cpu"]),
                                "3 queries", "at most 3 shards")
        Self.expectOneLineError(try CommandRunner.saegeo(scoreArguments(folder + "/s.safetensors", extra: ["--shard", huge])), "400 samples")
        #expect(Self.listing(folder).isEmpty)
        Self.expectOneLineError(try CommandRunner.saegeo(["neighbors", "--sae", Self.example.saePath, "-k", "2", "-o", folder + "/n.safetensors",
                                                          "--shard", "+0/2"]), "write I/N")
    }

    @Test("merge without the recorded dictionary says to pass --sae")
    func mergeNamesSae() throws {
        let folder = try Self.folder("merge-sae")
        let sae = folder + "/sae"
        try FileManager.default.copyItem(atPath: Self.example.saePath, toPath: sae)
        for i in 0..<2 {
            let run = try CommandRunner.saegeo(["neighbors", "--sae", sae, "-k", "2", "-o", folder + "/p\(i).safetensors", "--shard", "\(i)/2", "--device", "cpu"])
            #expect(run.status == 0, "\(run.stderr)")
        }
        try FileManager.default.moveItem(atPath: sae, toPath: folder + "/moved")
        Self.expectOneLineError(try CommandRunner.saegeo(["merge", "-o", folder + "/all.safetensors", folder + "/p0.safetensors", folder + "/p1.safetensors"]),
                                "pass --sae")
        let merged = try CommandRunner.saegeo(["merge", "-o", folder + "/all.safetensors", "--sae", folder + "/moved", folder + "/p0.safetensors", folder + "/p1.safetensors"])
        #expect(merged.status == 0, "\(merged.stderr)")
    }
}
