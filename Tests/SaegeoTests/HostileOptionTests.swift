import Foundation
import Testing
@testable import SaegeoCore

/// The command line as a whole: no arguments, an unknown option, options that contradict each
/// other or the checkpoint (a gated SAELens one), a file where a folder belongs and a folder where
/// a file belongs, a tensor name that is not there. Each refusal is one line that says which
/// option is wrong, and leaves no output behind.
@Suite(.serialized)
struct HostileOptionTests: HostileCommandLineSuite {
    /// The job's scores, written once by `saegeo score`. Both tests that read them are in this
    /// serialized suite, so two runs never write the file at once.
    static func scores() throws -> String {
        let path = TestFiles.path("hostile-scores.jsonl")
        if !FileManager.default.fileExists(atPath: path) {
            let run = try CommandRunner.saegeo(scoreArguments(path))
            try #require(run.status == 0, "\(run.stderr)")
        }
        return path
    }

    // MARK: no arguments, help, parse errors

    @Test("no arguments is one line and non-zero; --help exits 0; an unknown option is one line, exit 64")
    func noArgumentsHelpAndParseErrors() throws {
        try Self.expectRefused([], mentions: ["give a command", "neighbors"])
        let help = try CommandRunner.saegeo(["--help"])
        #expect(help.status == 0, "\(help.stderr)")
        #expect(help.stdout.contains("USAGE: saegeo") && help.stdout.contains("neighbors"), "\(help.stdout)")
        Self.expectClean(help)
        let o = Self.out("unknown.safetensors")
        try Self.expectRefused(["neighbors", "--sae", Self.job.saePath, "-k", "3", "-o", o, "--bogus"],
                               mentions: ["--bogus"], status: 64, absent: [o])
    }

    // MARK: files where folders belong and folders where files belong

    @Test("generate onto an existing regular file leaves it unchanged; filter --dataset FOLDER names the dataset")
    func filesAndFolders() throws {
        let file = try TestFiles.write("not a folder\n", to: "hostile-X.safetensors")
        try Self.expectRefused(["generate", file], mentions: ["hostile-X.safetensors", "not a folder"])
        #expect(try String(contentsOfFile: file, encoding: .utf8) == "not a folder\n")

        let dataset = Self.out("dataset-folder")
        try FileManager.default.createDirectory(atPath: dataset, withIntermediateDirectories: true)
        let o = Self.out("kept.jsonl")
        let run = try Self.expectRefused(["filter", "--scores", try Self.scores(), "--drop-fraction", "0.1", "--dataset", dataset, "-o", o],
                                         mentions: [dataset, "folder", "--dataset"], absent: [o])
        #expect(!run.stderr.contains(o), "the error blames the output: \(run.stderr)")
    }

    // MARK: gated SAELens checkpoint

    @Test("a gated SAELens checkpoint: score refuses it naming 'gated'; neighbors still works")
    func gatedCheckpoint() throws {
        let gated = Self.out("gated-sae")
        try? FileManager.default.removeItem(atPath: gated)
        try FileManager.default.copyItem(atPath: Self.job.saePath, toPath: gated)
        let cfgPath = gated + "/cfg.json"
        var cfg = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: cfgPath))) as? [String: Any])
        cfg["architecture"] = "gated"
        try JSONSerialization.data(withJSONObject: cfg).write(to: URL(fileURLWithPath: cfgPath))

        let scores = Self.out("gated.jsonl")
        try Self.expectRefused(Self.scoreArguments(sae: gated, scores), mentions: ["gated"], absent: [scores])
        let o = Self.out("gated-neighbors.safetensors")
        try Self.expectSuccess(["neighbors", "--sae", gated, "-k", "3", "-o", o, "--device", "cpu"])
        #expect(try SafetensorsContents(path: o).tensors["indices"]?.shape == [600, 3])
    }

    // MARK: contradictions

    @Test("contradictory options: --tensor/--layout on SAELens, --explain into csv, --seed with geometry, --topk on JumpReLU, -o .jsonl")
    func contradictions() throws {
        let sae = Self.job.saePath, o = Self.out("contradiction.safetensors")
        for extra in [["--tensor", "W_dec"], ["--layout", "rows"]] {
            try Self.expectRefused(["neighbors", "--sae", sae, "-k", "3", "-o", o] + extra,
                                   mentions: ["--tensor and --layout", "saelens"], absent: [o])
        }
        let csv = Self.out("explain.csv")
        try Self.expectRefused(Self.scoreArguments(csv) + ["--explain", "3"], mentions: ["--explain", ".jsonl"], absent: [csv])

        let dropped = Self.out("dropped.txt")
        let run = try Self.expectSuccess(["filter", "--scores", try Self.scores(), "--drop-fraction", "0.1",
                                          "--strategy", "geometry", "--seed", "5", "--dropped", dropped])
        #expect(run.stderr.split(separator: "\n").contains { $0.hasPrefix("saegeo: warning:") && $0.contains("--seed") }, "\(run.stderr)")
        #expect(try String(contentsOfFile: dropped, encoding: .utf8).split(separator: "\n").count == 30)

        let topk = Self.out("topk.jsonl")
        try Self.expectRefused(Self.scoreArguments(topk) + ["--topk", "5"], mentions: ["--topk", "jumprelu"], absent: [topk])
        let jsonl = Self.out("neighbors.jsonl")
        try Self.expectRefused(["neighbors", "--sae", sae, "-k", "3", "-o", jsonl], mentions: ["safetensors", "neighbors.jsonl"], absent: [jsonl])
    }

    @Test("activations without the named tensor: the error and --help point at --activations-tensor, which then works")
    func activationsTensorIsNamed() throws {
        let output = Self.out("renamed.jsonl")
        var arguments = Self.scoreArguments(output)
        let wrong = arguments.firstIndex(of: "offsets")!
        arguments[wrong - 1 ... wrong] = ["--activations-tensor", "acts"]
        try Self.expectRefused(arguments, mentions: ["no tensor 'acts'", "--activations-tensor"], absent: [output])
        // Following the message: naming the tensor that is there scores.
        let help = try CommandRunner.saegeo(["score", "--help"])
        #expect(help.stdout.contains("--activations-tensor"), "\(help.stdout)")
        #expect(!help.stdout.contains("see --tensor"), "\(help.stdout)")
        arguments = Self.scoreArguments(output) + ["--activations-tensor", "activations"]
        let run = try CommandRunner.saegeo(arguments)
        #expect(run.status == 0 && FileManager.default.fileExists(atPath: output), "\(run.stderr)")
    }
}
