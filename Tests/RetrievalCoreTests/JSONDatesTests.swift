import Foundation
import Testing

@testable import RetrievalCore

@Suite struct JSONDatesTests {
    private struct Stamp: Codable, Equatable { var date: Date }

    private func decode(_ json: String) throws -> Date {
        try JSONDates.decoder().decode(Stamp.self, from: Data(json.utf8)).date
    }

    @Test(arguments: [
        "0001-01-01T00:00:00.000000000Z", "1970-01-01T00:00:00.000000000Z", "2026-12-04T18:20:41.123456001Z",
        "9999-12-31T23:59:59.000000000Z",
    ])
    func datesOfTheYearsOneToNineThousandNineHundredNinetyNineRoundTrip(text: String) throws {
        let date = try #require(JSONDates.date(from: text))
        #expect(JSONDates.string(from: date) == text)
    }

    // Hostile run 15's list: a bundle date past year 9999 was stored and written back as another date.
    @Test(arguments: [
        (#"{"date": 1e15}"#, "1000000000000000.0 seconds since 1970 is not a date of the years 1 through 9999"),
        (#"{"date": -62135769601}"#, "-62135769601.0 seconds since 1970 is not a date of the years 1 through 9999"),
        (
            #"{"date": "9999-12-31T23:59:59.9999999999Z"}"#,
            "\"9999-12-31T23:59:59.9999999999Z\" is not an ISO-8601 UTC date of the years 1 through 9999 such as "
                + "2026-01-31T12:00:00Z"
        ),
    ])
    func datesTheFormatCannotWriteBackAreRefused(json: String, reason: String) throws {
        #expect {
            _ = try decode(json)
        } throws: { error in
            guard case .dataCorrupted(let context) = error as? DecodingError else { return false }
            return context.debugDescription == reason
        }
    }

    /// A damaged store's NaN date trapped `memp show` and every JSON output holding it (this session's review).
    @Test func aDateThatIsNoTimeIsWrittenAsItsNumberWhichNoReaderTakes() {
        for seconds in [Double.nan, .infinity, -.infinity] {
            let text = JSONDates.string(from: Date(timeIntervalSince1970: seconds))
            #expect(text == String(seconds) && JSONDates.date(from: text) == nil)
        }
    }

    @Test func numbersAreSecondsSince1970AsInOlderFiles() throws {
        #expect(try decode(#"{"date": 1.5}"#) == Date(timeIntervalSince1970: 1.5))
        #expect(try decode(#"{"date": -62135769600}"#) == Date(timeIntervalSince1970: -62_135_769_600))
    }
}
