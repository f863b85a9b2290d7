// Build tool: writes one Swift file that holds every OpenCL C source given on the command line,
// so the kernels travel inside the binary. Usage: EmbedKernels OUTPUT.swift INPUT.cl...
import Foundation

let arguments = CommandLine.arguments.dropFirst()
guard let output = arguments.first else {
    FileHandle.standardError.write(Data("usage: EmbedKernels OUTPUT.swift INPUT.cl...\n".utf8))
    exit(2)
}
var swift = "// Generated from Kernels/*.cl by the KernelEmbedder plugin. Do not edit.\n"
swift += "enum EmbeddedKernels {\n    static let sources: [String: String] = [\n"
for path in arguments.dropFirst().sorted() {
    let url = URL(fileURLWithPath: path)
    let text = try String(contentsOf: url, encoding: .utf8)
    // Raw strings with a long delimiter: the OpenCL source can contain quotes and backslashes.
    swift += "        \"\(url.lastPathComponent)\": ####\"\"\"\n\(text)\n\"\"\"####,\n"
}
swift += "    ]\n}\n"
try swift.write(toFile: output, atomically: true, encoding: .utf8)
