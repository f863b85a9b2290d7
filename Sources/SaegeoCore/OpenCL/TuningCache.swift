import Foundation

/// The kernel configurations `saegeo tune` found best, one per device name and driver version,
/// in the user's cache directory ($SAEGEO_TUNING_CACHE, else $XDG_CACHE_HOME/saegeo/tuning.json,
/// else ~/.cache/saegeo/tuning.json). Engines use an entry when it still fits the device's
/// limits; a new driver version has no entry, so it runs the defaults until tuned again.
public struct TuningCache: Sendable {
    public let path: String

    public struct Entry: Codable, Sendable, Equatable {
        public var variant: String
        public var tile: Int
        public var register: Int
        public var slice: Int
        public var topkGroup: Int
        public var gflops: Double
        public var defaultGflops: Double
        public var defaultConfiguration: String
        public var tunedAt: String
        public var quick: Bool

        public init(variant: String, tile: Int, register: Int, slice: Int, topkGroup: Int, gflops: Double,
                    defaultGflops: Double, defaultConfiguration: String, tunedAt: String, quick: Bool) {
            self.variant = variant
            self.tile = tile
            self.register = register
            self.slice = slice
            self.topkGroup = topkGroup
            self.gflops = gflops
            self.defaultGflops = defaultGflops
            self.defaultConfiguration = defaultConfiguration
            self.tunedAt = tunedAt
            self.quick = quick
        }

        public var configuration: KernelConfiguration? {
            KernelConfiguration.Variant(rawValue: variant).map {
                KernelConfiguration(variant: $0, tile: tile, register: register, sliceOfD: slice, topkGroup: topkGroup)
            }
        }
    }

    public init(path: String) { self.path = path }

    public static func standard(environment: [String: String] = ProcessInfo.processInfo.environment) -> TuningCache {
        if let path = environment["SAEGEO_TUNING_CACHE"], !path.isEmpty { return TuningCache(path: path) }
        let base = environment["XDG_CACHE_HOME"].flatMap { $0.isEmpty ? nil : $0 }
            ?? FileManager.default.homeDirectoryForCurrentUser.appendingPathComponent(".cache").path
        return TuningCache(path: base + "/saegeo/tuning.json")
    }

    static func key(name: String, driverVersion: String) -> String { "\(name) | driver \(driverVersion)" }

    /// Every entry; a missing or unreadable cache is empty (it is only a cache).
    public func entries() -> [String: Entry] {
        guard let data = try? InputFile.contents(path, what: "tuning cache", limit: 16 << 20) else { return [:] }
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        return (try? decoder.decode([String: Entry].self, from: data)) ?? [:]
    }

    public func entry(name: String, driverVersion: String) -> Entry? {
        entries()[Self.key(name: name, driverVersion: driverVersion)]
    }

    public func store(_ entry: Entry, name: String, driverVersion: String) throws {
        var all = entries()
        all[Self.key(name: name, driverVersion: driverVersion)] = entry
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        encoder.keyEncodingStrategy = .convertToSnakeCase
        let folder = PathName.folder(path)
        do {
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        } catch {
            throw SaegeoError.io("cannot create the cache folder \(folder): \(error.localizedDescription); set SAEGEO_TUNING_CACHE to a writable file")
        }
        let data: Data
        do {
            data = try encoder.encode(all)
        } catch {
            throw SaegeoError.io("cannot write the tuning cache \(path): \(JSONCoding.describe(error, snakeCase: true))")
        }
        try AtomicOutput.write(to: path) { try $0.write(contentsOf: data) }
    }

    /// The tuned configuration for a device, when there is one and it fits these limits.
    func configuration(for device: OpenCLDevice, limits: DeviceLimits) -> KernelConfiguration? {
        guard let configuration = entry(name: device.name, driverVersion: device.driverVersion)?.configuration,
              configuration.fits(limits) else { return nil }
        return configuration
    }
}
