import Foundation
import Testing
@testable import SaegeoCore

/// Score files read strictly: jsonl samples must be JSON integers and keys unique, and an empty
/// scores file is refused in every format.
struct StrictScoresTests {
    @Test("scores: jsonl samples must be JSON integers, keys unique")
    func scoresJSONL() throws {
        let cases: [(String, String)] = [
            ("{\"sample\": 0, \"score\": 1}\n{\"sample\": 1.5, \"score\": 2}\n", "line 2"),
            ("{\"sample\": 0, \"score\": 1}\n{\"sample\": 1.0, \"score\": 2}\n", "line 2"),
            ("{\"sample\": 0, \"score\": 1, \"score\": 5}\n", "line 1"),
            ("{\"sample\": \"0\", \"score\": 1}\n", "line 1"),
            ("{\"sample\": 0, \"score\": \"1\"}\n", "line 1"),
            ("{\"sample\": 0, \"score\": 1}\n{\"sample\": 99999999999999999999, \"score\": 1}\n", "line 2"),
            ("{\"sample\": 0, \"score\": 1}\n\n{\"sample\": 1, \"score\": 1} x\n", "line 3"),
        ]
        for (n, (text, line)) in cases.enumerated() {
            let path = try TestFiles.write(text, to: "strict-\(n).jsonl")
            do {
                _ = try SampleScores.read(path)
                Issue.record("\(text.debugDescription) was accepted")
            } catch let error as SaegeoError {
                #expect(error.message.contains(line) && !error.message.contains("\n"), "\(error)")
            }
        }
        let good = try TestFiles.write("{\"sample\": 1, \"score\": -2.5e-1}\r\n  \r\n{\"score\": 3, \"sample\": 0, \"text\": \"é\"}", to: "strict-good.jsonl")
        #expect(try SampleScores.read(good).scores == [3, -0.25])
    }

    @Test("scores: an empty scores file is refused in every format")
    func scoresEmpty() throws {
        let empty = [
            try TestFiles.write("", to: "empty-scores.jsonl"),
            try TestFiles.write("\n \n", to: "blank-scores.jsonl"),
            try TestFiles.write("", to: "empty-scores.csv"),
            try TestFiles.write("sample,score,active\n", to: "header-only-scores.csv"),
        ]
        let st = TestFiles.path("empty-scores.safetensors")
        try CheckpointBytes.write(CheckpointBytes.safetensors([.init(name: "scores", dtype: "F32", shape: [0], bytes: [])]), to: st)
        for path in empty + [st] {
            do {
                _ = try SampleScores.read(path)
                Issue.record("\(path) was accepted")
            } catch let error as SaegeoError {
                #expect(error.message.contains("holds no samples"), "\(error)")
            }
        }
    }
}
