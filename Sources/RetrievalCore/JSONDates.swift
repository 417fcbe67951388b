import Foundation

/// The one date format of every JSON output and file Memp writes: ISO-8601 in UTC with nanoseconds,
/// `2026-12-04T18:20:41.123456789Z`.
///
/// Nine digits make the string round-trip: a date read back equals the one written (seconds since 1970 as a
/// `Double` resolve about 2.4e-7 s today, far coarser than the 5e-10 s rounding of the ninth digit).
///
/// Readers also accept ISO-8601 without a fraction and, for files written before this format, a number of
/// seconds since 1970 (bundle manifests and records of bundle format 1). They refuse a date outside
/// ``writableSeconds``, which the format could not write back as it was read.
package enum JSONDates {
    /// Seconds since 1970 of the dates the format writes: years 1 through 9999, UTC.
    ///
    /// The years are Foundation's calendar (Julian before 15 October 1582). Past them, four year digits no longer
    /// hold the year and a date would be written back as another one.
    package static let writableSeconds: Range<Double> = -62_135_769_600..<253_402_300_800

    /// `date` as ISO-8601 UTC with nine fractional digits.
    ///
    /// A date that is no time (NaN or infinite seconds, which only a damaged store holds) is written as its number
    /// of seconds (`nan`), which no reader takes for a date.
    package static func string(from date: Date) -> String {
        let seconds = date.timeIntervalSince1970
        guard seconds.isFinite else { return String(seconds) }
        var whole = seconds.rounded(.down)
        var nanoseconds = ((seconds - whole) * 1_000_000_000).rounded()
        if nanoseconds >= 1_000_000_000 {
            whole += 1
            nanoseconds = 0
        }
        // The default style is UTC with a "Z": 2026-12-04T18:20:41Z; the fraction goes in front of the "Z".
        let base = Date(timeIntervalSince1970: whole).ISO8601Format()
        let fraction = String(Int(nanoseconds)).leftPadded(to: 9)
        return base.dropLast() + "." + fraction + "Z"
    }

    /// The date an ISO-8601 UTC string names (with or without a fraction), or `nil` if it is not one.
    package static func date(from text: String) -> Date? {
        var text = Substring(text)
        guard text.hasSuffix("Z") else { return nil }
        text = text.dropLast()
        var fraction = 0.0
        if let dot = text.lastIndex(of: ".") {
            let digits = text[text.index(after: dot)...]
            guard !digits.isEmpty, digits.allSatisfy(\.isASCII), digits.allSatisfy(\.isNumber),
                let value = Double("0." + digits)
            else { return nil }
            fraction = value
            text = text[..<dot]
        }
        guard let whole = try? Date(String(text) + "Z", strategy: .iso8601) else { return nil }
        // Seconds since 1970 first, as the numeric format did, so that both read a date back the same way.
        let seconds = whole.timeIntervalSince1970 + fraction
        return writableSeconds.contains(seconds) ? Date(timeIntervalSince1970: seconds) : nil
    }

    /// Encodes dates with ``string(from:)``.
    package static let encodingStrategy = JSONEncoder.DateEncodingStrategy.custom { date, encoder in
        var container = encoder.singleValueContainer()
        try container.encode(string(from: date))
    }

    /// Decodes ISO-8601 strings, and numbers as seconds since 1970 (files written before ISO-8601 dates).
    package static let decodingStrategy = JSONDecoder.DateDecodingStrategy.custom { decoder in
        let container = try decoder.singleValueContainer()
        if let seconds = try? container.decode(Double.self) {
            guard writableSeconds.contains(seconds) else {
                throw DecodingError.dataCorruptedError(
                    in: container,
                    debugDescription: "\(seconds) seconds since 1970 is not a date of the years 1 through 9999")
            }
            return Date(timeIntervalSince1970: seconds)
        }
        let text = try container.decode(String.self)
        guard let date = date(from: text) else {
            throw DecodingError.dataCorruptedError(
                in: container,
                debugDescription:
                    "\"\(text)\" is not an ISO-8601 UTC date of the years 1 through 9999 such as 2026-01-31T12:00:00Z")
        }
        return date
    }

    /// A JSON encoder with sorted keys, unescaped slashes and ISO-8601 dates.
    package static func encoder(pretty: Bool = false) -> JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting =
            pretty ? [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes] : [.sortedKeys, .withoutEscapingSlashes]
        encoder.dateEncodingStrategy = encodingStrategy
        return encoder
    }

    /// A JSON decoder that reads ``encodingStrategy``'s dates and the older numeric ones.
    package static func decoder() -> JSONDecoder {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = decodingStrategy
        return decoder
    }
}

extension String {
    fileprivate func leftPadded(to width: Int) -> String {
        count >= width ? self : String(repeating: "0", count: width - count) + self
    }
}
