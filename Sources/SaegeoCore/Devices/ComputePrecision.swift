/// The arithmetic of a run's products (`--precision`). Outputs never depend on it: a bfloat16
/// product is only a first pass whose proven error bound decides what the exact path recomputes
/// (docs/internals.md, "The certified bfloat16 first pass").
public enum ComputePrecision: String, Sendable, CaseIterable, Encodable {
    /// bfloat16 where the device multiplies it natively, float32 elsewhere.
    case auto
    case float32
    /// The certified bfloat16 first pass, natively where the device can, else through a portable
    /// product of the same rounded values (exact, but slower than float32).
    case bfloat16
}
