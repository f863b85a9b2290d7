/// saegeo's version, one place for the CLI's --version and the C interface's saegeo_version.
public enum SaegeoVersion {
    public static let current = "0.4.0"
}
