/// Whether a cosine index can hold `vector`: every component finite and at least one not zero (a vector of zeros
/// has no direction). ``VectorIndex/FlatIndex`` refuses any other for cosine, so writers and embedders check it
/// before a vector goes anywhere an index would later refuse it.
package func hasCosineDirection(_ vector: [Float]) -> Bool {
    vector.allSatisfy(\.isFinite) && vector.contains { $0 != 0 }
}
