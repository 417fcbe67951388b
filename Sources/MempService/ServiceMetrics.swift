import Synchronization

/// Request counts and latency histograms of a service, rendered in Prometheus' text exposition format.
public final class ServiceMetrics: Sendable {
    /// The upper bounds of the latency histogram's buckets, in seconds.
    public static let latencyBuckets: [Double] = [
        0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
    ]

    private struct RequestKey: Hashable {
        var route: String
        var method: String
        var status: Int
    }

    private struct Histogram {
        var counts = [Int](repeating: 0, count: ServiceMetrics.latencyBuckets.count)
        var count = 0
        var sum = 0.0
    }

    private struct State {
        var requests: [RequestKey: Int] = [:]
        var latencies: [String: Histogram] = [:]
        var inFlight = 0
        var inFlightPeak = 0
    }

    private let state = Mutex(State())

    init() {}

    /// Counts a request that started.
    public func started() {
        state.withLock { state in
            state.inFlight += 1
            state.inFlightPeak = max(state.inFlightPeak, state.inFlight)
        }
    }

    /// Records a finished request: its route pattern (`/v1/lookup`), method, status and duration.
    public func finished(route: String, method: String, status: Int, seconds: Double) {
        state.withLock { state in
            state.inFlight -= 1
            state.requests[RequestKey(route: route, method: method, status: status), default: 0] += 1
            var histogram = state.latencies[route] ?? Histogram()
            for (index, bound) in Self.latencyBuckets.enumerated() where seconds <= bound {
                histogram.counts[index] += 1
            }
            histogram.count += 1
            histogram.sum += seconds
            state.latencies[route] = histogram
        }
    }

    /// The metrics in Prometheus' text format, with the memory count of each open store.
    public func render(storeSizes: [(name: String, memories: Int)]) -> String {
        let state = state.withLock { $0 }
        var lines: [String] = []
        lines.append("# HELP memp_http_requests_total Requests answered, by route, method and status.")
        lines.append("# TYPE memp_http_requests_total counter")
        for (key, count) in state.requests.sorted(by: {
            ($0.key.route, $0.key.method, $0.key.status) < ($1.key.route, $1.key.method, $1.key.status)
        }) {
            lines.append(
                "memp_http_requests_total{route=\"\(key.route)\",method=\"\(key.method)\",status=\"\(key.status)\"} \(count)"
            )
        }
        lines.append("# HELP memp_http_request_duration_seconds Time to answer a request, by route.")
        lines.append("# TYPE memp_http_request_duration_seconds histogram")
        for (route, histogram) in state.latencies.sorted(by: { $0.key < $1.key }) {
            for (index, bound) in Self.latencyBuckets.enumerated() {
                lines.append(
                    "memp_http_request_duration_seconds_bucket{route=\"\(route)\",le=\"\(bound)\"} \(histogram.counts[index])"
                )
            }
            lines.append("memp_http_request_duration_seconds_bucket{route=\"\(route)\",le=\"+Inf\"} \(histogram.count)")
            lines.append("memp_http_request_duration_seconds_sum{route=\"\(route)\"} \(histogram.sum)")
            lines.append("memp_http_request_duration_seconds_count{route=\"\(route)\"} \(histogram.count)")
        }
        lines.append("# HELP memp_http_requests_in_flight Requests being answered.")
        lines.append("# TYPE memp_http_requests_in_flight gauge")
        lines.append("memp_http_requests_in_flight \(state.inFlight)")
        lines.append("# HELP memp_http_requests_in_flight_peak The most requests answered at once since start.")
        lines.append("# TYPE memp_http_requests_in_flight_peak gauge")
        lines.append("memp_http_requests_in_flight_peak \(state.inFlightPeak)")
        lines.append("# HELP memp_store_memories Memories in the in-process indexes of each open store.")
        lines.append("# TYPE memp_store_memories gauge")
        for (name, memories) in storeSizes { lines.append("memp_store_memories{store=\"\(name)\"} \(memories)") }
        return lines.joined(separator: "\n") + "\n"
    }
}
