/// The version of Gale this code is.
public enum GaleVersion {
    /// The release, as `major.minor.patch`.
    public static let current = "0.15.0"
}
