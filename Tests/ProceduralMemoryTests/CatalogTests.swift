import RetrievalCore
import Testing

@testable import ProceduralMemory

/// The catalog a snapshot keeps: a dictionary in buckets that copies, like one, by value.
@Suite struct CatalogTests {
    static func entry(_ source: String, _ status: MemoryStatus = .active) -> CatalogEntry {
        CatalogEntry(source: source, labels: ["fold": source], status: status)
    }

    @Test func holdsUpdatesAndRemovesEntriesAsADictionaryDoes() {
        // Numbers in every bucket and beyond one lap of them, sparse and dense, up to the largest there is.
        let numbers: [UInt64] = Array(0..<600) + [1_000_003, 1 << 40, .max]
        var catalog = Catalog(Dictionary(uniqueKeysWithValues: numbers.map { (DocumentID($0), Self.entry("s\($0)")) }))
        #expect(catalog.count == numbers.count)
        #expect(numbers.allSatisfy { catalog[DocumentID($0)] == Self.entry("s\($0)") })
        #expect(catalog[600] == nil && catalog[856] == nil)

        #expect(catalog.updateValue(Self.entry("s7", .deprecated), forKey: 7) == Self.entry("s7"))
        #expect(catalog[7]?.status == .deprecated && catalog.count == numbers.count)
        #expect(catalog.updateValue(Self.entry("new"), forKey: 600) == nil)
        #expect(catalog.count == numbers.count + 1)
        #expect(catalog.removeValue(forKey: .init(.max)) == Self.entry("s\(UInt64.max)"))
        #expect(catalog.removeValue(forKey: .init(.max)) == nil)
        #expect(catalog.count == numbers.count && catalog[.init(.max)] == nil)
    }

    @Test func aCopyChangesApartFromTheOriginal() {
        var original = Catalog()
        for number in 0..<1_000 { original.updateValue(Self.entry("a"), forKey: DocumentID(UInt64(number))) }
        var copy = original
        copy.updateValue(Self.entry("a", .deprecated), forKey: 5)
        copy.removeValue(forKey: 261)
        copy.updateValue(Self.entry("b"), forKey: 5_000)
        #expect(original[5]?.status == .active && original[261] != nil && original[5_000] == nil)
        #expect(original.count == 1_000)
        #expect(copy[5]?.status == .deprecated && copy[261] == nil && copy[5_000]?.source == "b")
        #expect(copy.count == 1_000)
    }
}
