import ProceduralMemory

/// Lookup hits as text an agent can read and follow: for each procedure, its task, its track record and its steps.
public enum ProcedureText {
    /// The hits as numbered procedures, best first; a line saying so when there are none.
    public static func render(_ hits: [LookupHit]) -> String {
        guard !hits.isEmpty else { return "No stored procedure fits this task." }
        var lines: [String] = []
        for (index, hit) in hits.enumerated() {
            let record = Memory.useRecord(hitCount: hit.hitCount, successCount: hit.successCount)
            let outcome =
                hit.outcome?.success.map { $0 ? "; the source attempt succeeded" : "; the source attempt failed" } ?? ""
            lines.append("Procedure \(index + 1) (memory \(hit.id); \(record)\(outcome))")
            lines.append("For the task: \(hit.task)")
            if let script = hit.script {
                lines.append(script)
            } else if let steps = hit.steps {
                for (number, step) in steps.enumerated() { lines.append("\(number + 1). \(step.action)") }
            }
            lines.append("")
        }
        lines.append("After the task, report the memory IDs you used and whether you succeeded (record_outcome).")
        return lines.joined(separator: "\n")
    }

    /// What feedback did to each memory, a line each: `ID: 2 of 3 uses succeeded`, and that it will no longer be
    /// offered when the feedback deprecated it.
    public static func render(_ changes: [FeedbackChange]) -> String {
        changes.map {
            "\($0.memoryID): \(Memory.useRecord(hitCount: $0.hitCount, successCount: $0.successCount))"
                + ($0.deprecated ? "; deprecated, it will no longer be offered" : "")
        }.joined(separator: "\n")
    }
}
