/// The devices a job runs on and the memory it may use on each, asked for only when the job
/// gets to them: the CLI resolves `--device` and parses `--memory-budget` after the checks on the
/// inputs, so that the first thing wrong with a command line is the first one reported.
public struct JobDevices {
    private let makeEngines: () throws -> [ComputeEngine]
    private let readBudget: () throws -> Int?

    /// Devices chosen by a front end when the job needs them (`engines` is called once per job).
    public init(engines: @escaping () throws -> [ComputeEngine], budget: @escaping () throws -> Int?) {
        makeEngines = engines
        readBudget = budget
    }

    /// Engines already built, e.g. `[CPUEngine()]`; nil budget: three quarters of each device.
    public init(_ engines: [ComputeEngine], budget: Int? = nil) {
        self.init(engines: { engines }, budget: { budget })
    }

    public func engines() throws -> [ComputeEngine] { try makeEngines() }
    public func budget() throws -> Int? { try readBudget() }

    /// Runs `attempt` under `budget`; when a device reports that an allocation failed
    /// (SaegeoError.isAllocationFailure), says so in one line and runs it once more under half
    /// the memory the first plan had, so that a device whose free memory is less than it reports
    /// still finishes. A second failure is reported as it is.
    static func replanningOnce<T>(budget: Int?, engines: [ComputeEngine], events: JobEvents,
                                  _ attempt: (Int?) throws -> T) throws -> T {
        do {
            return try attempt(budget)
        } catch let error as SaegeoError where error.isAllocationFailure {
            let planned = budget ?? engines.map {
                TilePlanner.usableMemory(deviceMemory: $0.device.globalMemoryBytes, budget: nil)
            }.min() ?? 0
            let smaller = max(1, planned / 2)
            events.log("\(error.message); planning again once with half the memory budget, \(ByteCount.format(smaller)) (\(smaller) bytes)")
            return try attempt(smaller)
        }
    }
}
