import Foundation
import Testing

/// Rule 7 of ArchitectureTests: nothing outside a backend's folder downcasts to one of its types.
/// A backend folder is one whose files declare a `DeviceBackend` (Sources/SaegeoCore/OpenCL,
/// Sources/SaegeoCore/CPU, Tests/SaegeoTests/Float64Backend, and whatever comes next); its types
/// are every type it declares at the top level. Code elsewhere reaches a backend only through
/// DeviceBackend and ComputeEngine, so a new backend never needs an edit outside its folder.
extension ArchitectureTests {
    static let testFiles = SourceFile.all(under: repository.appendingPathComponent("Tests"), prefix: "Tests/")

    /// Each backend folder (path from the repository root) with the types it declares.
    static func backendFolders(in files: [SourceFile]) -> [String: Set<String>] {
        let conformer = #/^\s*(?:(?:public|package|internal|final)\s+)*(?:struct|class|actor|enum)\s+\w+\s*:[^{]*\bDeviceBackend\b/#
        let folders = Set(files.filter { $0.code.contains { $0.contains(conformer) } }.map { folder(of: $0.path) })
        var types: [String: Set<String>] = [:]
        for file in files where folders.contains(folder(of: file.path)) {
            for line in file.code {
                if let match = line.firstMatch(of: #/^(?:public\s+|package\s+|internal\s+|final\s+)*(?:struct|class|actor|enum|protocol|typealias)\s+(\w+)/#) {
                    types[folder(of: file.path), default: []].insert(String(match.1))
                }
            }
        }
        return types
    }

    static func folder(of path: String) -> String { String(path[..<(path.lastIndex(of: "/") ?? path.startIndex)]) }

    /// "path:line: the line" for every cast (`as`, `as?`, `as!`, `is`) to a backend's type outside its folder.
    static func backendDowncasts(in files: [SourceFile], backends: [String: Set<String>]) -> [String] {
        var found: [String] = []
        for file in files {
            for (index, line) in file.code.enumerated() {
                for match in line.matches(of: #/(?:\bas[?!]?|\bis)\s+\[?\s*(\w+)/#) {
                    let name = String(match.1)
                    for (folder, types) in backends where types.contains(name) && !file.path.hasPrefix(folder + "/") {
                        found.append("\(file.path):\(index + 1): \(file.lines[index].trimmingCharacters(in: .whitespaces)) (a type of \(folder))")
                    }
                }
            }
        }
        return found
    }

    @Test("no downcast to a backend's types outside its folder (Sources and Tests)")
    func noBackendDowncasts() {
        let files = Self.sources + Self.testFiles
        let backends = Self.backendFolders(in: files)
        // The rule must see the three backends and their engines, else it passes on nothing.
        #expect(backends["Sources/SaegeoCore/OpenCL"]?.isSuperset(of: ["OpenCLBackend", "OpenCLEngine"]) == true, "\(backends.keys.sorted())")
        #expect(backends["Sources/SaegeoCore/CPU"]?.isSuperset(of: ["CPUBackend", "CPUEngine"]) == true, "\(backends.keys.sorted())")
        #expect(backends["Tests/SaegeoTests/Float64Backend"]?.isSuperset(of: ["Float64Backend", "Float64Engine"]) == true)
        let casts = Self.backendDowncasts(in: files, backends: backends)
        if !casts.isEmpty {
            Issue.record("""
                Casts to a backend's types outside its folder (reach backends through DeviceBackend and ComputeEngine; \
                what only one backend has belongs in its folder, behind the protocol):
                \(casts.joined(separator: "\n"))
                """)
        }
    }

    @Test("the downcast rule finds what it is meant to, and only outside the backend's folder")
    func backendDowncastRuleHasTeeth() {
        func file(_ path: String, _ text: String) -> SourceFile {
            SourceFile(path: path, lines: text.components(separatedBy: "\n"), code: SourceFile.codeOnly(text).components(separatedBy: "\n"))
        }
        let backend = file("Sources/SaegeoCore/Metal/MetalBackend.swift",
                           "public struct MetalBackend: DeviceBackend {}\nfinal class MetalEngine: ComputeEngine {}\nlet inside = e as? MetalEngine")
        let outside = file("Sources/SaegeoCore/Bench/Probe.swift", """
            let a = engine as? MetalEngine
            if engine is MetalBackend { }
            let b = engines as! [MetalEngine]
            // a comment: engine as? MetalEngine
            let c = "engine as? MetalEngine"
            let d = engine as? ComputeEngine
            """)
        let backends = Self.backendFolders(in: [backend, outside])
        #expect(backends == ["Sources/SaegeoCore/Metal": ["MetalBackend", "MetalEngine"]])
        let casts = Self.backendDowncasts(in: [backend, outside], backends: backends)
        #expect(casts.map { $0.prefix { $0 != " " } } == ["Sources/SaegeoCore/Bench/Probe.swift:1:",
                                                           "Sources/SaegeoCore/Bench/Probe.swift:2:",
                                                           "Sources/SaegeoCore/Bench/Probe.swift:3:"])
    }
}
