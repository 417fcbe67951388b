import Foundation
import RetrievalCore

/// `count` seeded household trajectories ("put some mug in fridge", four steps, succeeded) as JSON Lines, the format
/// `memp import` reads: a large import file whose text is the same for the same `count`.
///
/// The records are written as JSON objects, not `Trajectory` values, so that this target needs no memory module.
public func generatedTrajectoryLines(count: Int) throws -> String {
    var rng = SplitMix64(seed: 5)
    let objects = ["mug", "apple", "potato", "knife", "book", "pen", "vase", "plate", "egg", "lettuce"]
    let places = ["fridge", "microwave", "shelf", "drawer", "cabinet", "desk", "sinkbasin", "countertop"]
    var lines: [String] = []
    for index in 0..<count {
        let object = objects.randomElement(using: &rng) ?? "mug"
        let place = places.randomElement(using: &rng) ?? "shelf"
        let steps = [
            ("go to countertop 1", "On the countertop 1, you see a \(object) 1."),
            ("take \(object) 1 from countertop 1", "You pick up the \(object) 1."),
            ("go to \(place) 1", "You arrive at \(place) 1."),
            ("put \(object) 1 in/on \(place) 1", "You put the \(object) 1 in/on the \(place) 1."),
        ]
        let trajectory: [String: Any] = [
            "id": "gen-\(index)", "task": "put some \(object) in \(place)", "source": "generated",
            "labels": ["object": object], "outcome": ["success": true, "reward": 1],
            "steps": steps.map { ["action": $0.0, "observation": $0.1] },
        ]
        let line = try JSONSerialization.data(withJSONObject: trajectory, options: [.sortedKeys])
        lines.append(String(decoding: line, as: UTF8.self))
    }
    return lines.joined(separator: "\n") + "\n"
}
