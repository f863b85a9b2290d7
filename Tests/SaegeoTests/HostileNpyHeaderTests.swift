import Foundation
import Testing
@testable import SaegeoCore

/// .npy headers read exactly as numpy reads them (issue 21, item 6): a key given twice keeps its
/// last value, anything numpy refuses is refused, and (when numpy is installed) every spelling is
/// compared with numpy's own reader. Every header is built here.
struct HostileNpyHeaderTests: HostileSuite {
    static func npy(header: String, version: UInt8 = 1, payload: Int = 64) -> [UInt8] {
        var text = Array(header.utf8)
        let prefix = version == 1 ? 10 : 12
        while (prefix + text.count) % 64 != 0 { text.append(0x20) }
        let length = text.count
        let lengthBytes: [UInt8] = version == 1 ? [UInt8(length & 0xFF), UInt8(length >> 8)]
            : (0..<4).map { UInt8((length >> (8 * $0)) & 0xFF) }
        return [0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59, version, 0] + lengthBytes + text + [UInt8](repeating: 0, count: payload)
    }

    static func npyFile(_ bytes: [UInt8]) throws -> NpyFile {
        let file = bytes.withUnsafeBytes { MappedFile(copying: $0, path: "memory.npy") }
        return try NpyFile(file: file, range: 0..<file.size, name: "memory.npy")
    }

    // MARK: Item 6: .npy headers as numpy reads them

    @Test(".npy: a key given twice takes the last value, as a Python dict literal does")
    func npyDuplicateKeys() throws {
        let twice = try Self.npyFile(Self.npy(header: "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 8), 'shape': (8, 2), }"))
        #expect(twice.shape == [8, 2])
        let order = try Self.npyFile(Self.npy(header: "{'fortran_order': True, 'descr': '<f4', 'shape': (2, 8), 'fortran_order': False}"))
        #expect(order.fortranOrder == false && order.shape == [2, 8])
        // Quotes, spacing, implicit concatenation and a trailing comment are Python's, not a pattern's.
        let spelled = try Self.npyFile(Self.npy(header: "{\"descr\" :'<'  'f4',\n 'fortran_order':True,'sha' 'pe':( 4 ,\t4 ,),} # numpy"))
        #expect(spelled.shape == [4, 4] && spelled.fortranOrder && spelled.dtype == "F32")
        // numpy's second try at a version 1 or 2 header (its _filter_header, whose tokenizer
        // depends on the Python version, so these are fixed here as numpy 2.4 on Python 3.11
        // reads them): Python 2 longs, and a last line of padding after a newline.
        let long = try Self.npyFile(Self.npy(header: "{'descr': '<f4', 'fortran_order': False, 'shape': (2L, 8L)}"))
        #expect(long.shape == [2, 8])
        #expect(try Self.npyFile(Self.npy(header: "{'descr': '<f4', 'fortran_order': False, 'shape': (4, 4)}\n\n", version: 2)).shape == [4, 4])
        Self.expectRefused("indent") { _ = try Self.npyFile(Self.npy(header: "{'descr': '<f4', 'fortran_order': False, 'shape': (4, 4)}\n\n", version: 3)) }
        Self.expectRefused("indent") { _ = try Self.npyFile(Self.npy(header: "{'descr': '<f4', 'fortran_order': False, 'shape': (4, 4)}\r", version: 2)) }
    }

    @Test(".npy: headers numpy refuses are refused", arguments: [
        ("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 8), 'extra': 1}", "exactly"),
        ("{'descr': '<f4', 'fortran_order': 'False', 'shape': (2, 8)}", "fortran_order"),
        ("{'descr': '<f4', 'fortran_order': 0, 'shape': (2, 8)}", "fortran_order"),
        ("{'descr': '<f4', 'shape': (2, 8)}", "exactly"),
        ("{'descr': '<f4', 'fortran_order': False, 'shape': [2, 8]}", "shape"),
        ("{'descr': '<f4', 'fortran_order': False, 'shape': (2.0, 8)}", "header"),
        ("{'descr': '<f4', 'fortran_order': False, 'shape': (2)}", "shape"),
        ("{'descr': '<f4', 'fortran_order': False, 'shape': (True, 8)}", "shape"),
        ("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 8),, }", "header"),
        ("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 8)", "header"),
        ("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 8)} x", "header"),
        ("{'descr': '<f4', 'fortran_order': false, 'shape': (2, 8)}", "header"),
        ("{'descr': '<f4', 'fortran_order': False, 'shape': (02, 8)}", "header"),
        ("{'descr': b'<f4', 'fortran_order': False, 'shape': (2, 8)}", "descr"),
        ("{'descr': '<f4', 'fortran_order': False, 'shape': (2L, 8)}", "header"),   // only version 1 and 2 allow L
        ("('descr', '<f4')", "dictionary"),
    ])
    func npyRefusals(header: String, words: String) {
        let version: UInt8 = header.contains("2L") ? 3 : 1
        Self.expectRefused(words) { _ = try Self.npyFile(Self.npy(header: header, version: version)) }
    }

    @Test(".npy: accept and read exactly what numpy's np.load accepts and reads (when numpy is installed)")
    func npyAgainstNumpy() throws {
        let headers: [(String, UInt8)] = [
            ("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 8), }", 1),
            ("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 8), 'shape': (8, 2), }", 1),
            ("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 8), 'extra': 1}", 1),
            ("{'descr': '<f4', 'fortran_order': 'False', 'shape': (2, 8)}", 1),
            ("{'descr': '<f4', 'fortran_order': True, 'shape': (4, 4), 'fortran_order': False}", 1),
            ("{'descr': '<f4', 'fortran_order': False, 'shape': (2L, 8L)}", 3),
            ("{'descr': '<f4', 'fortran_order': False, 'shape': (0x2, 0o10)}", 2),
            ("{'descr': '<f4', 'fortran_order': False, 'shape': (1_6,)}", 1),
            ("{'descr': '<f4', 'fortran_order': False, 'shape': (16)}", 1),
            ("{'descr': '<f4', 'fortran_order': False, 'shape': [16]}", 1),
            ("{'descr': '<f2', 'fortran_order': False, 'shape': ((16),)}", 1),
            ("{'descr': u'<f4', 'fortran_order': (False), 'shape': (), }", 1),
            ("{'descr': '\\x3cf4', 'fortran_order': False, 'shape': (4, 4)}", 1),
            ("{'descr': r'<f4', 'fortran_order': False, 'shape': (4, 4)}", 1),
            ("{'descr': '''<f4''', 'fortran_order': False, 'shape': (4, 4)}", 1),
            ("{'descr': '<f4', 'fortran_order': False, 'shape': (4, 4)}\n", 3),
            ("{'descr': '<f4', 'fortran_order': False, 'shape': (4, 4)}\n  #c", 3),
            ("  {'descr': '<f4', # comment\n 'fortran_order': False, 'shape': (4, 4)}", 1),
            ("{'descr': '<f4', 'fortran_order': False, 'shape': (4, 4)} # c", 1),
            ("{'descr': '<f4', 'fortran_order': False, 'shape': (-1, 4)}", 1),
            ("{'descr': '<f4', 'fortran_order': False, 'shape': (+4, 4)}", 1),
            ("{'descr': '<f4', 'fortran_order': False, 'shape': (4, 4), 1: 2}", 1),
            ("{'descr': '<f4', 'fortran_order': False, 'sh\\\nape': (4, 4)}", 1),
            ("{'descr': '<f4', 'fortran_order': False, 'shape': (4, 4)\\\n}", 1),
            ("{'descr': '<f4', 'fortran_order': None, 'shape': (4, 4)}", 1),
            ("{'descr': '<f4', 'fortran_order': False, 'shape': (4, 4), 'shape': 'x'}", 1),
        ]
        let folder = TestFiles.path("npy-vs-numpy")
        try? FileManager.default.removeItem(atPath: folder)
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        var ours: [String] = []
        for (i, (header, version)) in headers.enumerated() {
            let bytes = Self.npy(header: header, version: version)
            try CheckpointBytes.write(bytes, to: "\(folder)/\(i).npy")
            if let npy = try? Self.npyFile(bytes) {
                ours.append("\(npy.shape.map(String.init).joined(separator: ",")) \(npy.fortranOrder ? "True" : "False")")
            } else {
                ours.append("refused")
            }
        }
        let script = """
            import sys, warnings
            warnings.simplefilter('ignore')
            try:
                import numpy
            except ImportError:
                print('no numpy'); sys.exit(0)
            try:
                from numpy.lib import _format_impl as fmt
            except ImportError:
                from numpy.lib import format as fmt
            for i in range(int(sys.argv[2])):
                path = f'{sys.argv[1]}/{i}.npy'
                try:
                    with open(path, 'rb') as f:
                        version = fmt.read_magic(f)
                        shape, fortran, dtype = fmt._read_array_header(f, version)
                    if any(n < 0 for n in shape): raise ValueError('negative')
                    print(','.join(str(n) for n in shape), fortran)
                except Exception:
                    print('refused')
            """
        let run = try CommandRunner.run("/usr/bin/env", ["python3", "-c", script, folder, String(headers.count)])
        guard run.status == 0, !run.stdout.hasPrefix("no numpy") else { return }
        let theirs = run.stdout.split(separator: "\n").map(String.init)
        #expect(theirs.count == headers.count, "\(run.stdout) \(run.stderr)")
        for (i, (header, version)) in headers.enumerated() where i < theirs.count {
            #expect(ours[i] == theirs[i], "v\(version) \(header.debugDescription): saegeo \(ours[i]), numpy \(theirs[i])")
        }
    }
}
