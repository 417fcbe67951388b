extension IndexCacheState {
    /// What to tell whoever wrote to the store in this state, or `nil` when there is nothing to tell: for
    /// ``unsaved(reason:)``, that the changes are stored but the index cache files were not saved, and why.
    ///
    /// One lower-case clause, without a final period, for a front end to put in its own sentence.
    public var writeWarning: String? {
        guard case .unsaved(let reason) = self else { return nil }
        return "the changes are stored, but the index cache was not saved (\(reason)); the next open rebuilds it"
    }
}
