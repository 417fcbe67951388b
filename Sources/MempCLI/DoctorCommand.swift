import ArgumentParser
import Embeddings
import VectorIndex

/// `memp doctor`: what the retrieval engine runs on.
struct DoctorCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "doctor",
        abstract: "Show the BLAS library actually loaded, its threading, the CPU features and the SIMD level.")

    @Flag(help: "Print JSON instead of text.") var json = false

    func run() throws {
        let report = RuntimeReport.current()
        let encoder = MiniLMEmbedder.runtime
        if json {
            try printJSON([
                "blasLibrary": .string(report.blasLibrary ?? "unknown"),
                "openBLASConfiguration": .string(report.openBLASConfiguration ?? ""),
                "openBLASCore": .string(report.openBLASCore ?? ""),
                "blasThreads": .int(report.blasThreads ?? 0),
                "blasThreading": .string(report.blasThreading ?? "unknown"),
                "cpuFeatures": .array(report.cpuFeatures.map { .string($0) }),
                "hardwareLevel": .string(report.hardwareLevel), "kernelLevel": .string(report.kernelLevel),
                "simdOverride": .string(report.simdOverride ?? ""), "int8UsesVNNI": .bool(report.int8UsesVNNI),
                "blasCrossover": .int(report.blasCrossover),
                "encoderKernelLevel": .string(encoder.kernelLevel.rawValue), "encoderThreads": .int(encoder.threads),
                "encoderUsesBLAS": .bool(encoder.usesBLAS),
            ])
            return
        }
        print("BLAS library:     \(report.blasLibrary ?? "not found (cblas_sgemm did not resolve)")")
        if let configuration = report.openBLASConfiguration {
            print("OpenBLAS:         \(configuration)")
            print("OpenBLAS core:    \(report.openBLASCore ?? "unknown")")
            print("BLAS threading:   \(report.blasThreading ?? "unknown"), \(report.blasThreads ?? 0) threads")
        } else {
            print("BLAS threading:   unknown (not OpenBLAS; no openblas_get_config)")
        }
        print("CPU features:     \(report.cpuFeatures.joined(separator: " "))")
        var level = "\(report.kernelLevel) (hardware supports \(report.hardwareLevel)"
        if let forced = report.simdOverride {
            level += "; MEMP_SIMD=\(forced)"
            // The kernels fall back to the detected level: say so, or a mistyped level looks forced.
            if forced.lowercased() != report.kernelLevel {
                level += " ignored: not one of scalar, avx2, avx512 up to \(report.hardwareLevel)"
            }
        }
        print("SIMD kernels:     \(level))")
        print("int8 kernels:     \(report.int8UsesVNNI ? "AVX-512 VNNI" : "widened 16-bit multiply-add")")
        print("BLAS batch from:  \(report.blasCrossover) queries per batch")
        print(
            "MiniLM encoder:   packed \(encoder.kernelLevel) kernels on up to \(encoder.threads) threads of its own "
                + "(blocking waits, split only when a step pays); \(encoder.usesBLAS ? "calls" : "never calls") BLAS")
    }
}
