/// A flag the CLI raises on Ctrl-C or SIGTERM; long loops check it between tiles. A run that
/// stops its own device threads (one failed) raises a child flag, which its parent (the
/// process's signal flag) never sees.
public final class Cancellation: Sendable {
    private let raised = Locked(false)
    private let parent: Cancellation?

    public init(parent: Cancellation? = nil) { self.parent = parent }

    public func cancel() { raised.withLock { $0 = true } }

    public var isCancelled: Bool { raised.current || (parent?.isCancelled ?? false) }

    public func check() throws {
        if isCancelled { throw SaegeoError(.interrupted, "interrupted; no output was written") }
    }
}
