import Foundation
import SaegeoCore

/// What every failing call of the C interface hands back: the error kind as a status code
/// (saegeo.h: 1 bad input, 2 bad file, 3 i/o, 4 device, 5 usage, 6 interrupted) and its one-line
/// message, kept per thread for saegeo_last_error. Nothing escapes a call as a Swift error or a trap.
enum Status {
    static let success: Int32 = 0

    static func code(of kind: SaegeoError.Kind) -> Int32 {
        switch kind {
        case .badInput: 1
        case .badFile: 2
        case .io: 3
        case .device: 4
        case .usage: 5
        case .interrupted: 6
        }
    }

    /// Runs one call's body: 0 when it returns, else the error's code with its message kept.
    static func run(_ body: () throws -> Void) -> Int32 {
        LastError.clear()
        do {
            try body()
            return success
        } catch let error as SaegeoError {
            LastError.set(error.message)
            return code(of: error.kind)
        } catch {
            // SaegeoCore throws only SaegeoError; anything else is reported as bad input, never rethrown.
            LastError.set("\(error)")
            return code(of: .badInput)
        }
    }

    /// The object behind a handle, or a bad-input error naming the argument that was NULL.
    static func object<T: AnyObject>(_ handle: UnsafeMutableRawPointer?, _ type: T.Type, _ name: String) throws -> T {
        guard let handle else { throw SaegeoError(.badInput, "\(name) is NULL; pass a handle that saegeo made") }
        return Unmanaged<T>.fromOpaque(handle).takeUnretainedValue()
    }

    static func required<T>(_ pointer: T?, _ name: String) throws -> T {
        guard let pointer else { throw SaegeoError(.badInput, "\(name) is NULL") }
        return pointer
    }
}

/// The last error's message of each thread, as a C string that stays valid until the thread's
/// next call (saegeo.h). Thread-local through a pthread key, freed when the thread ends.
enum LastError {
    private static let key: pthread_key_t = {
        var key = pthread_key_t()
        pthread_key_create(&key) { free($0) }
        return key
    }()
    private static let empty: StaticString = ""

    static func set(_ message: String) {
        free(pthread_getspecific(key))
        pthread_setspecific(key, strdup(message))
    }

    static func clear() {
        guard let old = pthread_getspecific(key) else { return }
        free(old)
        pthread_setspecific(key, nil)
    }

    static var current: UnsafePointer<CChar> {
        if let message = pthread_getspecific(key) { return UnsafePointer(message.assumingMemoryBound(to: CChar.self)) }
        return UnsafeRawPointer(empty.utf8Start).assumingMemoryBound(to: CChar.self)
    }
}

/// Keeps an object alive behind an opaque pointer (one retain, released by its *_free).
enum Handle {
    static func make(_ object: AnyObject) -> UnsafeMutableRawPointer { Unmanaged.passRetained(object).toOpaque() }
    static func free(_ handle: UnsafeMutableRawPointer?) {
        guard let handle else { return }
        Unmanaged<AnyObject>.fromOpaque(handle).release()
    }
}

/// A C string the caller frees with saegeo_free_string.
func mallocString(_ text: String) -> UnsafeMutablePointer<CChar> { strdup(text)! }

@_cdecl("saegeo_version")
public func saegeo_version() -> UnsafePointer<CChar> { Version.cString }

@_cdecl("saegeo_last_error")
public func saegeo_last_error() -> UnsafePointer<CChar> { LastError.current }

@_cdecl("saegeo_free_string")
public func saegeo_free_string(_ text: UnsafeMutablePointer<CChar>?) { free(text) }

enum Version {
    /// Allocated once and never freed: saegeo.h promises a static string.
    nonisolated(unsafe) static let cString = UnsafePointer(strdup(SaegeoVersion.current)!)
}
