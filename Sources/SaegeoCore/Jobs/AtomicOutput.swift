/// A single output written whole or not at all: a one-file job (see Job), for the writers that
/// have no inputs to protect (bench reports, the tuning cache, generated examples).
public enum AtomicOutput {
    /// Fails early, before any computing, when the path cannot take the output.
    public static func checkWritable(_ path: String, what: String = "output") throws {
        _ = try OutputTarget.check(path, what: what)
    }

    public static func write(to path: String, _ produce: (OutputSink) throws -> Void) throws {
        try Job.writeOne(path, produce)
    }
}
