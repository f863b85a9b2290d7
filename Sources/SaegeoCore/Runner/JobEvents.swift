/// What a running job tells its front end: the lines it has to say (warnings, what it resumed,
/// the closing summary) and the progress of each pass. The CLI prints them on stderr; another
/// front end (a Python package) may log, collect or drop them. Nothing in SaegeoCore prints.
public struct JobEvents: Sendable {
    /// Observes one pass's progress (tiles done of total, flops so far).
    public typealias ProgressObserver = @Sendable (ProgressReport) -> Void

    /// One line for a person, without the program's name.
    public var log: @Sendable (String) -> Void
    /// The observer of the pass the label names ("score on cpu:"); called as the pass is set up.
    public var progress: @Sendable (String) -> ProgressObserver

    public init(log: @escaping @Sendable (String) -> Void,
                progress: @escaping @Sendable (String) -> ProgressObserver = { _ in { _ in } }) {
        self.log = log
        self.progress = progress
    }

    /// Says nothing: for a caller that only wants the result.
    public static let silent = JobEvents(log: { _ in })
}
