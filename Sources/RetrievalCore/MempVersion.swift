/// The version of this Memp build, printed by `memp --version` and reported by any other front end.
///
/// Semantic versioning: the minor number grows with each release while the file formats stay readable.
package enum MempVersion {
    /// The version string, `MAJOR.MINOR.PATCH`.
    package static let current = "0.1.0"
}
