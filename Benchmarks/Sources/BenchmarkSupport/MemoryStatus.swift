import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Seconds on a monotonic clock; a span is the difference of two readings.
public func now() -> Double { Double(DispatchTime.now().uptimeNanoseconds) / 1e9 }

/// The kB figures of /proc/self/status that tell resident memory apart (all 0 where that file does not exist).
public struct MemoryStatus: Codable, Sendable {
    public var vmRSSkB = 0
    public var vmHWMkB = 0
    public var rssAnonkB = 0
    public var rssFilekB = 0

    /// The peak resident memory of this process (VmHWM), in bytes.
    public var peakResidentBytes: Int { vmHWMkB * 1024 }

    /// The figures now.
    public static func read() -> MemoryStatus {
        var status = MemoryStatus()
        guard let text = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return status }
        for line in text.split(separator: "\n") {
            let parts = line.split(separator: ":", maxSplits: 1)
            guard parts.count == 2 else { continue }
            let kB = Int(parts[1].split(whereSeparator: \.isWhitespace).first ?? "") ?? 0
            switch parts[0] {
            case "VmRSS": status.vmRSSkB = kB
            case "VmHWM": status.vmHWMkB = kB
            case "RssAnon": status.rssAnonkB = kB
            case "RssFile": status.rssFilekB = kB
            default: break
            }
        }
        return status
    }

    /// Resets VmHWM to the current VmRSS, so the next reading's peak belongs to what runs in between.
    public static func resetPeak() {
        let handle = open("/proc/self/clear_refs", O_WRONLY)
        guard handle >= 0 else { return }
        _ = write(handle, "5", 1)
        close(handle)
    }
}
