import Foundation
import ProceduralMemory
import RetrievalCore
import TestSupport
import Testing

/// Bundles written once by `memp export` and committed: format 2 (ISO-8601 dates) as this build writes it, and the
/// same bundle in format 1 (seconds since 1970), which every later build must still import.
@Suite struct BundleGoldenFileTests {
    static func fixture(_ name: String) throws -> String {
        try #require(Bundle.module.path(forResource: name, ofType: nil, inDirectory: "Fixtures"))
    }

    /// The dates the fixture's memories were written with (memp.sqlite of the exporting store).
    static let createdAt = "2026-12-04T19:40:00.000000000Z"

    @Test(arguments: ["bundle-v1", "bundle-v2"])
    func importsEveryFormatVersion(name: String) async throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let store = try await TestStoreKind.disk.makeStore(in: directory)
        let report = try await store.importBundle(at: try Self.fixture(name))
        #expect(report.memories == 3 && report.trajectories == 3 && report.reembedded)
        #expect(report.manifest?.formatVersion == (name == "bundle-v1" ? 1 : 2))
        #expect(report.manifest?.createdAt == JSONDates.date(from: "2026-12-04T19:40:00.5Z"))
        let memory = try #require(try await store.memory(id: "tw-coin-0217-gold"))
        #expect(memory.createdAt == JSONDates.date(from: Self.createdAt))
        #expect(
            try await store.retrieve("find the coin", options: RetrievalOptions(policy: .bm25, k: 1))
                .map(\.memory.id) == ["tw-coin-0217-gold"])
    }

    @Test func datesRoundTripThroughTheISOFormat() throws {
        for seconds in [0.0, 1.5, 1_764_876_000.123456789, 1_764_876_000.75, -86_400.25] {
            let date = Date(timeIntervalSince1970: seconds)
            let text = JSONDates.string(from: date)
            #expect(text.wholeMatch(of: /-?\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z/) != nil)
            #expect(JSONDates.date(from: text) == date)
        }
        #expect(JSONDates.string(from: Date(timeIntervalSince1970: 0)) == "1970-01-01T00:00:00.000000000Z")
        #expect(JSONDates.date(from: "2026-12-04T19:40:00Z") == Date(timeIntervalSince1970: 1_796_413_200))
        #expect(JSONDates.date(from: "2026-12-04 19:40:00") == nil)
    }
}
