import SaegeoCore

/// How the CLI meets SaegeoCore's jobs: their lines and progress go to the console, their devices
/// come from --device and --memory-budget when the job asks for them.
extension Console {
    static let events = JobEvents(log: { Console.info($0) }, progress: { label in
        let bar = Console.Progress(label)
        return { bar.update($0) }
    })
}

extension ComputeOptions {
    /// The devices of --device under --memory-budget, resolved and parsed when the job gets to them.
    var devices: JobDevices { JobDevices(engines: { try engines() }, budget: { try budgetBytes() }) }
}
