import Foundation
import Testing

/// Rules of the house for the sources, checked by reading them as text (no compiler involved), so
/// that the picture in DESIGN.md stays true as the code changes:
/// 1. the folders of Sources/SaegeoCore do not depend on each other in a cycle (the files at its
///    top level form the folder "root", which everybody may use and which is left out);
/// 2. no file of Sources/SaegeoCore is over 300 lines unless `longFiles` says why;
/// 3. OpenCL is called only from SaegeoCore/OpenCL/, and `clCreateContext` appears in one file;
/// 4. OpenBLAS (`cblas_`, `openblas_`) is called only from SaegeoCore/BLAS/ (or CPU/);
/// 5. every `@unchecked Sendable` in Sources/ says why: a `//` comment on its line, or the comment
///    block ending on the line just above it, contains "because", "C handle" or "lock";
/// 6. the float64 test backend (Tests/SaegeoTests/Float64Backend/) is a plug-in: its files import
///    SaegeoCore without `@testable`, and nothing in Sources/ names it;
/// 7. the CLI (Sources/saegeo/) only parses options, calls SaegeoCore's jobs and prints: no file
///    of it names a checkpoint, shard or fingerprint type (the job runner, Runner/, owns them).
/// 8. nothing outside a backend's folder casts to one of its types (ArchitectureTests+Backends.swift).
/// Only code is matched: comments and string literals are blanked first (`codeOnly`).
struct ArchitectureTests {
    /// Files of Sources/SaegeoCore allowed over `lineLimit` (path under SaegeoCore -> one-line reason).
    static let longFiles: [String: String] = [:]
    static let lineLimit = 300

    static let repository = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let core = repository.appendingPathComponent("Sources/SaegeoCore")
    static let sources = SourceFile.all(under: repository.appendingPathComponent("Sources"))
    static let coreFiles = sources.filter { $0.path.hasPrefix("Sources/SaegeoCore/") }

    @Test("the sources are found (else every rule below would pass on nothing)")
    func sourcesAreFound() {
        #expect(Self.coreFiles.count > 10, "No Swift files found under \(Self.core.path)")
    }

    @Test("the folders of SaegeoCore depend on each other without cycles")
    func noFolderCycles() {
        // Who declares each top-level name. Private ones cannot be used from another file.
        var declaringFolders: [String: Set<String>] = [:]
        for file in Self.coreFiles where file.folder != "root" {
            var depth = 0
            for line in file.code {
                // Only at brace depth 0: a type's members and nested types are not top-level names.
                if depth == 0, let declaration = line.firstMatch(of: #/
                    ^ \s* (?: @\w+ (?: \( [^)]* \) )? \s+ )*    # attributes
                    (?<modifiers> (?: (?: public|package|internal|private|fileprivate|final|open|indirect|nonisolated) \s+ )* )
                    (?: class|struct|enum|protocol|actor|typealias|func ) \s+ (?<name> \w+ )
                    /#), !declaration.modifiers.contains("private") {
                    declaringFolders[String(declaration.name), default: []].insert(file.folder)
                }
                depth += line.filter { $0 == "{" }.count - line.filter { $0 == "}" }.count
            }
        }
        // uses[a][b]: the (file, name) pairs by which folder a uses folder b, first use of each name.
        var uses: [String: [String: [(file: String, name: String)]]] = [:]
        for file in Self.coreFiles where file.folder != "root" {
            for name in file.mentionedNames() {
                for folder in declaringFolders[name, default: []] where folder != file.folder
                    && !(uses[file.folder]?[folder]?.contains { $0.name == name } ?? false) {
                    uses[file.folder, default: [:]][folder, default: []].append((file.path, name))
                }
            }
        }
        // Strongly connected components: folders that reach each other. Few folders, so plain searches.
        func reachable(from start: String) -> Set<String> {
            var seen: Set<String> = [], stack = [start]
            while let folder = stack.popLast() {
                for next in uses[folder, default: [:]].keys where seen.insert(next).inserted { stack.append(next) }
            }
            return seen
        }
        let reach = Dictionary(uniqueKeysWithValues: uses.keys.map { ($0, reachable(from: $0)) })
        var report: [String] = [], placed: Set<String> = []
        for folder in uses.keys.sorted() where !placed.contains(folder) && reach[folder]!.contains(folder) {
            let cycle = uses.keys.filter { reach[folder]!.contains($0) && reach[$0]!.contains(folder) }.sorted()
            placed.formUnion(cycle)
            report.append("cycle among \(cycle.joined(separator: ", ")):")
            for a in cycle {
                for b in cycle where b != a {
                    guard let examples = uses[a]?[b] else { continue }
                    let named = examples.map { "\($0.name) (\($0.file.dropFirst("Sources/SaegeoCore/".count)))" }
                    report.append("  \(a) -> \(b): \(named.joined(separator: ", "))")
                }
            }
            let mutual = cycle.flatMap { a in
                cycle.filter { a < $0 && uses[a]?[$0] != nil && uses[$0]?[a] != nil }.map { "\(a) <-> \($0)" }
            }
            if !mutual.isEmpty { report.append("  mutual pairs: \(mutual.joined(separator: ", "))") }
        }
        if !report.isEmpty {
            Issue.record("""
                Folders of Sources/SaegeoCore that depend on each other, with the names used (and where first):
                \(report.joined(separator: "\n"))
                """)
        }
    }

    @Test("no file of SaegeoCore is over 300 lines unless the allow-list says why")
    func smallFiles() {
        let tooLong = Self.coreFiles.filter { $0.lines.count > Self.lineLimit && Self.longFiles[$0.pathInCore] == nil }
        if !tooLong.isEmpty {
            Issue.record("""
                Over \(Self.lineLimit) lines (split by concept, or add to longFiles with a reason):
                \(tooLong.map { "\($0.path): \($0.lines.count) lines" }.joined(separator: "\n"))
                """)
        }
        // An allow-list entry that no longer applies should go, so the list only ever shrinks.
        let stale = Self.longFiles.filter { entry in
            entry.value.isEmpty || !Self.coreFiles.contains { $0.pathInCore == entry.key && $0.lines.count > Self.lineLimit }
        }
        #expect(stale.keys.sorted() == [], "longFiles entries without a reason, or for a file gone or short now")
    }

    @Test("OpenCL is called only from OpenCL/, and one file creates contexts")
    func openCLStaysInOneFolder() {
        let creators = Self.coreFiles.filter { $0.codeText.contains(#/\bclCreateContext\b/#) }
        #expect(creators.count == 1, "clCreateContext should appear in exactly one file, not in \(creators.count): \(creators.map(\.path))")
        let calls = Self.hits(Self.coreFiles.filter { $0.folder != "OpenCL" }, #/(?:^|[^.\w])cl[A-Z]\w*\s*\(/#)
        if !calls.isEmpty { Issue.record("OpenCL calls outside Sources/SaegeoCore/OpenCL/:\n\(calls.joined(separator: "\n"))") }
    }

    @Test("OpenBLAS is called only from BLAS/ (or CPU/, its new name)")
    func openBLASStaysInOneFolder() {
        let allowed = ["BLAS", "CPU"].filter { FileManager.default.fileExists(atPath: Self.core.appendingPathComponent($0).path) }
        #expect(!allowed.isEmpty, "Neither Sources/SaegeoCore/BLAS nor Sources/SaegeoCore/CPU exists")
        let calls = Self.hits(Self.coreFiles.filter { !allowed.contains($0.folder) }, #/\b(?:cblas|openblas)_\w*/#)
        if !calls.isEmpty {
            Issue.record("""
                OpenBLAS calls outside Sources/SaegeoCore/\(allowed.joined(separator: " or ")):
                \(calls.joined(separator: "\n"))
                """)
        }
    }

    @Test("every @unchecked Sendable says why it is safe")
    func uncheckedSendableIsExplained() {
        var unexplained: [String] = []
        for file in Self.sources {
            for (index, line) in file.code.enumerated() where line.contains("@unchecked") && line.contains(#/@unchecked\s+Sendable/#) {
                // The comment on the line itself (what is written after its last byte of code: the two
                // texts are byte-aligned), then the comment block ending just above it.
                let codeLength = Array(line.utf8).lastIndex { $0 != UInt8(ascii: " ") }.map { $0 + 1 } ?? 0
                var comments = [String(decoding: file.lines[index].utf8.dropFirst(codeLength), as: UTF8.self)]
                var above = index - 1
                while above >= 0, file.lines[above].trimmingCharacters(in: .whitespaces).hasPrefix("//") {
                    comments.append(file.lines[above])
                    above -= 1
                }
                if !comments.contains(where: { $0.contains(#/(?i)\bbecause\b|\bC handles?\b|\block(?:s|ed|ing)?\b/#) }) {
                    unexplained.append("\(file.path):\(index + 1): \(file.lines[index].trimmingCharacters(in: .whitespaces))")
                }
            }
        }
        if !unexplained.isEmpty {
            Issue.record("""
                \(unexplained.count) @unchecked Sendable without a comment saying why (because / C handle / lock):
                \(unexplained.joined(separator: "\n"))
                """)
        }
    }

    @Test("the float64 test backend is a plug-in: public imports only, and Sources/ never names it")
    func float64BackendIsAPlugIn() {
        let files = SourceFile.all(under: Self.repository.appendingPathComponent("Tests/SaegeoTests/Float64Backend"),
                                   prefix: "Tests/SaegeoTests/Float64Backend/")
        #expect(files.count >= 2, "the float64 backend's folder is not found")
        for file in files {
            #expect(!file.codeText.contains("@testable"), "\(file.path) must use SaegeoCore's public surface only")
        }
        let mentions = Self.hits(Self.sources, #/\bFloat64(?:Backend|Engine|Candidates)(?!\w)/#)
        if !mentions.isEmpty { Issue.record("Sources/ names the test backend:\n\(mentions.joined(separator: "\n"))") }
    }

    @Test("the CLI names no checkpoint, shard or fingerprint type: SaegeoCore's job runner owns them")
    func commandsLeaveJobsToCore() {
        let cli = Self.sources.filter { $0.path.hasPrefix("Sources/saegeo/") }
        #expect(cli.count >= 10, "Sources/saegeo is not found")
        let pattern = #/\b(?:ShardCheckpoint|ShardManifest|ShardSums|ShardSpec|ShardMerge|JobFingerprint|CheckpointFolder|CheckpointBlocks|PairShardMerge|PairShardSearch|ContrastMerge)(?!\w)/#  // not a closing \b: Unicode word boundaries join `ShardSpec.self` into one word
        let mentions = Self.hits(cli, pattern)
        if !mentions.isEmpty {
            Issue.record("""
                Sources/saegeo runs jobs itself (move it into a job of SaegeoCore/Runner/):
                \(mentions.joined(separator: "\n"))
                """)
        }
    }

    /// "path:line: the line" for every line of `files` whose code matches `pattern`.
    static func hits(_ files: [SourceFile], _ pattern: Regex<Substring>) -> [String] {
        files.filter { $0.codeText.contains(pattern) }.flatMap { file in  // one scan per file first: it is faster
            file.code.enumerated().compactMap { index, line in
                line.contains(pattern) ? "\(file.path):\(index + 1): \(file.lines[index].trimmingCharacters(in: .whitespaces))" : nil
            }
        }
    }
}
