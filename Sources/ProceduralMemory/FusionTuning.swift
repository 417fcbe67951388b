import Foundation
import HybridSearch

/// A store's record of which fusion its `hybrid` lookups use.
///
/// It holds every choice made by tuning and every revert, oldest first. The fusion in effect is that of the last
/// entry; with no entry, ``RetrievalOptions/defaultFusion``.
///
/// Kept in the store's settings (SQLite `meta`, PostgreSQL `store`), so every process and the server read the same
/// choice. A revert is an entry of its own, so the record never loses a choice.
package struct FusionTuning: Sendable, Equatable, Codable {
    /// The entries, oldest first.
    package var entries: [FusionTuningEntry]

    /// Creates a record.
    package init(entries: [FusionTuningEntry] = []) { self.entries = entries }

    /// The fusion in effect: the last entry's, or `nil` for ``RetrievalOptions/defaultFusion``.
    package var fusion: FusionMethod? { entries.last?.fusion }

    /// The tune entries still in effect, innermost last: reverting undoes the last of them.
    package var activeChoices: [FusionTuningEntry] {
        var stack: [FusionTuningEntry] = []
        for entry in entries {
            switch entry.action {
            case .tune: stack.append(entry)
            case .revert: if !stack.isEmpty { stack.removeLast() }
            }
        }
        return stack
    }

    /// The record with a revert of the last choice in effect appended: the fusion goes back to the one before it.
    ///
    /// - Throws: ``MemoryError/nothingToRevert`` when no choice is in effect.
    package func reverted(at date: Date) throws(MemoryError) -> FusionTuning {
        var choices = activeChoices
        guard let undone = choices.popLast() else { throw .nothingToRevert }
        var record = self
        record.entries.append(
            FusionTuningEntry(
                number: (entries.last?.number ?? 0) + 1, action: .revert, fusion: choices.last?.fusion,
                evidence: nil, reverts: undone.number, date: date))
        return record
    }

    /// The record with a choice appended.
    package func choosing(_ fusion: FusionMethod?, evidence: FusionTuningEvidence, at date: Date) -> FusionTuning {
        var record = self
        record.entries.append(
            FusionTuningEntry(
                number: (entries.last?.number ?? 0) + 1, action: .tune, fusion: fusion, evidence: evidence,
                reverts: nil, date: date))
        return record
    }
}

/// What a ``FusionTuningEntry`` did.
package enum FusionTuningAction: String, Sendable, Codable, CaseIterable {
    /// Tuning chose a fusion (possibly the default).
    case tune
    /// An earlier choice was undone; the fusion went back to the one in effect before it.
    case revert
}

/// One change of a store's fusion.
package struct FusionTuningEntry: Sendable, Equatable, Codable {
    /// The entry's number, from 1.
    package var number: Int
    /// What the entry did.
    package var action: FusionTuningAction
    /// The fusion in effect after the entry; `nil` for ``RetrievalOptions/defaultFusion``.
    package var fusion: FusionMethod?
    /// Why tuning chose it; `nil` for a revert.
    package var evidence: FusionTuningEvidence?
    /// For a revert, the number of the entry it undid.
    package var reverts: Int?
    /// When.
    package var date: Date
}

/// The measurement behind a tuning choice, kept with it.
package struct FusionTuningEvidence: Sendable, Equatable, Codable {
    /// Where the judged queries came from: `queries FILE (sha256 …)` or `feedback`.
    package var origin: String
    /// The judged queries.
    package var queries: Int
    /// The cross-validation folds.
    package var folds: Int
    /// The metric the choice maximized (`nDCG@10`).
    package var metric: String
    /// The chosen fusion's mean metric over all judged queries.
    package var chosenScore: Double
    /// ``RetrievalOptions/defaultFusion``'s mean metric over the same queries.
    package var defaultScore: Double
    /// The mean metric on held-out folds of a fusion tuned on the other folds: what tuning is expected to give
    /// on queries it did not see.
    package var crossValidatedScore: Double

    /// Creates evidence.
    package init(
        origin: String, queries: Int, folds: Int, metric: String, chosenScore: Double, defaultScore: Double,
        crossValidatedScore: Double
    ) {
        self.origin = origin
        self.queries = queries
        self.folds = folds
        self.metric = metric
        self.chosenScore = chosenScore
        self.defaultScore = defaultScore
        self.crossValidatedScore = crossValidatedScore
    }
}

extension MemoryStore {
    /// The fusion the store records for `hybrid` lookups that name none; `nil` when none is recorded, so the
    /// default applies (reciprocal rank fusion, rank constant 60; see ``RetrievalOptions/fusion``).
    ///
    /// The choice is made by Evaluation's `FusionTuner` (or `memp tune`), which keeps a record of every choice and
    /// revert with its measurement (`memp tune --show` lists it).
    ///
    /// - Throws: What the backend throws reading its settings.
    public func recordedFusion() async throws(MemoryError) -> FusionMethod? {
        try await backend.fusionTuning().fusion
    }

    /// The store's record of fusion choices (empty when never tuned), for `memp tune --show`.
    ///
    /// - Throws: What the backend throws reading its settings.
    package func fusionTuning() async throws(MemoryError) -> FusionTuning {
        try await backend.fusionTuning()
    }

    /// Records a fusion choice in the store's settings; later `hybrid` lookups that name no fusion use it.
    ///
    /// - Parameters:
    ///   - fusion: The fusion; `nil` records that the default stays.
    ///   - evidence: The measurement behind the choice.
    /// - Returns: The record after the choice.
    /// - Throws: ``MemoryError/tuningConflict(expectedEntries:actualEntries:)`` when another process changed the
    ///   record meanwhile (nothing is written).
    @discardableResult
    package func recordFusion(_ fusion: FusionMethod?, evidence: FusionTuningEvidence) async throws(MemoryError)
        -> FusionTuning
    {
        let current = try await backend.fusionTuning()
        return try await save(current.choosing(fusion, evidence: evidence, at: Date()), replacing: current)
    }

    /// Undoes the last fusion choice still in effect: lookups go back to the fusion before it (the revert is
    /// recorded too, so the record never loses a choice).
    ///
    /// - Returns: The fusion recorded after the revert; `nil` for the default (see ``RetrievalOptions/fusion``).
    /// - Throws: ``MemoryError/nothingToRevert`` when no choice is in effect;
    ///   ``MemoryError/tuningConflict(expectedEntries:actualEntries:)`` when another process changed the record
    ///   meanwhile.
    @discardableResult
    public func revertFusion() async throws(MemoryError) -> FusionMethod? {
        let current = try await backend.fusionTuning()
        return try await save(try current.reverted(at: Date()), replacing: current).fusion
    }

    private func save(_ tuning: FusionTuning, replacing current: FusionTuning) async throws(MemoryError)
        -> FusionTuning
    {
        try await backend.saveFusionTuning(tuning, expectedEntries: current.entries.count)
        tunedFusion.withLock { $0 = .known(tuning.fusion) }
        return tuning
    }

    /// The fusion a lookup that names none uses: the store's recorded choice, read once and then kept (a choice
    /// made by another process is seen after ``refresh()``), else ``RetrievalOptions/defaultFusion``.
    func effectiveFusion(_ requested: FusionMethod?) async throws(MemoryError) -> FusionMethod {
        if let requested { return requested }
        if case .known(let fusion) = tunedFusion.withLock({ $0 }) { return fusion ?? RetrievalOptions.defaultFusion }
        let fusion = try await backend.fusionTuning().fusion
        tunedFusion.withLock { $0 = .known(fusion) }
        return fusion ?? RetrievalOptions.defaultFusion
    }
}

/// Whether a store has read its recorded fusion yet.
enum TunedFusionState: Sendable {
    /// Not read yet.
    case unread
    /// Read: the recorded fusion, `nil` for the default.
    case known(FusionMethod?)
}
