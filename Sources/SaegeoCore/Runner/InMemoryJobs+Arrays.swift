/// Arrays a front end hands over for one call, checked as the CLI checks the files they replace.
extension InMemoryJobs {
    /// The caller's `rows` x `dimension` activations (F32, F16 or BF16, row by row), read in place:
    /// no copy is made; narrow types are widened a chunk of rows at a time as the scorer reads them.
    /// The memory must stay valid and unchanged while the returned value (or anything holding it)
    /// is in use: a front end builds one per call and lets it go before returning.
    /// `sampleStarts`: sample i is rows `sampleStarts[i]..<sampleStarts[i + 1]` (nil: every row its own sample).
    public static func activations(borrowing bytes: UnsafeRawPointer, scalarType: ScalarType, rows: Int, dimension: Int,
                                   sampleStarts: [Int]? = nil, name: String) throws -> ActivationsFile {
        guard rows >= 0, dimension > 0 else {
            throw SaegeoError(.badInput, "\(name): activations must be a [rows, d_model] matrix with d_model > 0 (got \(rows) x \(dimension))")
        }
        let (count, overflow) = rows.multipliedReportingOverflow(by: dimension * scalarType.byteSize)
        guard !overflow else { throw SaegeoError(.badInput, "\(name): \(rows) x \(dimension) activations are more than memory holds") }
        let file = MappedFile(borrowing: UnsafeRawBufferPointer(start: bytes, count: count), path: name)
        let matrix = FeatureMatrix(file: file, byteOffset: 0, features: rows, dimension: dimension, scalarType: scalarType, layout: .rows)
        if let starts = sampleStarts {
            guard starts.count >= 1, starts.first == 0, starts.last == rows, zip(starts, starts.dropFirst()).allSatisfy({ $0 <= $1 }) else {
                throw SaegeoError(.badInput, "\(name): offsets must start at 0, never decrease and end at the \(rows) rows")
            }
        }
        return ActivationsFile(path: name, rows: matrix, sampleStarts: sampleStarts ?? Array(0...rows))
    }

    /// Feature ids given as an array: each within the dictionary (the id files' message), at least one.
    public static func checkIds(_ ids: [Int], features: Int, role: String) throws {
        guard !ids.isEmpty else { throw SaegeoError.badInput("no \(role) feature ids were given; give at least one") }
        if let id = ids.first(where: { !(0..<features).contains($0) }) {
            throw SaegeoError.badInput("\(role) feature id \(id) is out of range; the dictionary has features 0..<\(features)")
        }
    }
}
