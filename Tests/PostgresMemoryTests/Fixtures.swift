import Foundation
import PostgresMemory
import ProceduralMemory
import RetrievalCore
import TestSupport

/// Trajectories and memories with given or seeded random vectors, written to either backend.
enum Fixtures {
    static let date = Date(timeIntervalSince1970: 1_764_300_000.25)
    static let embedderID = "fixture:v1"

    static func trajectory(_ id: String, task: String, source: String, labels: [String: String]) -> Trajectory {
        Trajectory(
            id: id, task: task,
            steps: [Step(action: "look", observation: "You see a room."), Step(action: "do \(task)")],
            outcome: Outcome(success: true, reward: 1), source: source, labels: labels, producer: "fixture-agent")
    }

    /// The memory built from a trajectory, with its vectors.
    static func record(
        _ trajectory: Trajectory, vector: [Float], keywords: [String] = [], keywordVector: [Float]? = nil
    ) -> MemoryRecord {
        MemoryRecord(
            memory: Memory(
                id: trajectory.id, task: trajectory.task, buildPolicy: .proceduralization, steps: trajectory.steps,
                script: "1. look\n2. do it", keywords: keywords, sourceTrajectoryIDs: [trajectory.id],
                source: trajectory.source, labels: trajectory.labels, embedderID: embedderID,
                provenance: Provenance(producer: trajectory.producer, scriptWriter: "rules"), createdAt: date,
                updatedAt: date),
            taskVector: vector, keywordVector: keywordVector)
    }

    /// One batch adding `trajectories` and the memory built from each, all with the task vector `vector`.
    static func batch(adding trajectories: [Trajectory], vector: [Float]) -> WriteBatch {
        WriteBatch(
            trajectories: trajectories, memories: trajectories.map { record($0, vector: vector) }, replacing: false,
            policy: "p", reason: "r")
    }

    /// Initializes `backend` for vectors of `vector`'s dimension and stores `trajectories`, as ``batch(adding:vector:)``;
    /// returns their memories' numbers by memory ID.
    @discardableResult
    static func seed(_ backend: PostgresBackend, with trajectories: [Trajectory], vector: [Float]) async throws
        -> [String: DocumentID]
    {
        try await backend.initialize(embedderID: embedderID, dimension: vector.count, configuration: nil)
        return try await backend.write(batch(adding: trajectories, vector: vector)).numbers
    }

    /// A unit vector with seeded Gaussian-ish components.
    static func unitVector(dimension: Int, using generator: inout SplitMix64) -> [Float] {
        var vector = (0..<dimension).map { _ in Float.random(in: -1...1, using: &generator) }
        let norm = vector.reduce(0) { $0 + $1 * $1 }.squareRoot()
        vector = vector.map { $0 / norm }
        return vector
    }

    static let words = [
        "heat", "mug", "clean", "apple", "fridge", "keychain", "safe", "drawer", "knife", "slice", "bread", "cook",
        "potato", "stove", "lamp", "desk", "book", "shelf", "towel", "sink", "plate", "cabinet", "egg", "microwave",
    ]

    /// `count` memories over `words` with seeded random task vectors, as one batch.
    static func randomBatch(count: Int, dimension: Int, seed: UInt64) -> WriteBatch {
        var generator = SplitMix64(seed: seed)
        var trajectories: [Trajectory] = []
        var records: [MemoryRecord] = []
        for index in 0..<count {
            let task = (0..<4).map { _ in words[Int.random(in: 0..<words.count, using: &generator)] }
                .joined(separator: " ")
            let trajectory = trajectory(
                "m\(index)", task: task, source: index % 3 == 0 ? "textworld" : "alfworld",
                labels: ["fold": index % 2 == 0 ? "train" : "test"])
            trajectories.append(trajectory)
            records.append(record(trajectory, vector: unitVector(dimension: dimension, using: &generator)))
        }
        return WriteBatch(
            trajectories: trajectories, memories: records, replacing: false, policy: "proceduralization",
            reason: "fixture")
    }
}
