import Foundation

// Small helpers for the work the cores share, used by every folder.

/// A value behind a lock: the one lock helper. Every state the device threads share (queues,
/// counters, results, the first error) is a `Locked` value and is only touched inside `withLock`.
public final class Locked<Value>: @unchecked Sendable {  // Sendable because every access holds the lock
    private let lock = NSLock()
    private var value: Value

    public init(_ value: Value) { self.value = value }

    @discardableResult
    public func withLock<R>(_ body: (inout Value) throws -> R) rethrows -> R {
        lock.lock()
        defer { lock.unlock() }
        return try body(&value)
    }

    /// A copy of the value as it is now.
    public var current: Value { withLock { $0 } }
}

/// A raw pointer that may cross into concurrently running closures; each closure writes only
/// its own disjoint part.
struct UnsafeSendablePointer<T>: @unchecked Sendable {  // Sendable because writers own disjoint ranges
    let pointer: UnsafeMutablePointer<T>
    init(_ pointer: UnsafeMutablePointer<T>) { self.pointer = pointer }
    init(_ pointer: UnsafePointer<T>) { self.pointer = UnsafeMutablePointer(mutating: pointer) }
}

/// Runs `body` over `count` items split into contiguous chunks, on all cores.
func parallelChunks(_ count: Int, _ body: @Sendable (Range<Int>) -> Void) {
    guard count > 0 else { return }
    let chunks = min(count, ProcessInfo.processInfo.activeProcessorCount * 4)
    if chunks == 1 { body(0..<count); return }
    DispatchQueue.concurrentPerform(iterations: chunks) { chunk in
        body((count * chunk / chunks)..<(count * (chunk + 1) / chunks))
    }
}

func roundUp(_ n: Int, to multiple: Int) -> Int { (n + multiple - 1) / multiple * multiple }
