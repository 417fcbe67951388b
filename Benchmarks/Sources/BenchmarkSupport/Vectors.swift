/// `vector` divided by its Euclidean (L2) norm: the unit vector of its direction.
///
/// Every benchmark that draws unit vectors scales them with this one function. The zero vector has no direction and
/// gives NaN components.
public func normalized(_ vector: [Float]) -> [Float] {
    let norm = vector.reduce(0) { $0 + $1 * $1 }.squareRoot()
    return vector.map { $0 / norm }
}
