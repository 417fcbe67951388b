internal import CKernels
import RetrievalCore

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// What the vector kernels run on: BLAS library, threading, CPU features and SIMD level.
///
/// `memp doctor` prints it: the BLAS library actually loaded (where `cblas_sgemm` resolves), its threading,
/// the CPU's features and the SIMD level chosen.
public struct RuntimeReport: Sendable, Codable, Equatable {
    /// The shared object `cblas_sgemm` resolves to (symlinks resolved), or nil when it can't be found.
    public var blasLibrary: String?
    /// `openblas_get_config()` when the library is OpenBLAS.
    public var openBLASConfiguration: String?
    /// `openblas_get_corename()`: the kernel family OpenBLAS picked for this CPU.
    public var openBLASCore: String?
    /// `openblas_get_num_threads()`.
    public var blasThreads: Int?
    /// `openblas_get_parallel()`: "sequential", "pthreads" or "openmp".
    public var blasThreading: String?
    /// CPU features reported by `cpuid`.
    public var cpuFeatures: [String]
    /// The fastest SIMD level this CPU and OS support.
    public var hardwareLevel: String
    /// The level the kernels use (lower when `MEMP_SIMD` forces it).
    public var kernelLevel: String
    /// The value of `MEMP_SIMD`, when set.
    public var simdOverride: String?
    /// Whether the int8 kernels use AVX-512 VNNI.
    public var int8UsesVNNI: Bool
    /// Batches at least this large go through BLAS.
    public var blasCrossover: Int

    /// Inspects the running process.
    public static func current() -> RuntimeReport {
        let process = dlopen(nil, RTLD_NOW)
        defer { if let process { dlclose(process) } }
        func symbol(_ name: String) -> UnsafeMutableRawPointer? { process.flatMap { dlsym($0, name) } }
        func text(_ name: String) -> String? {
            guard let function = symbol(name) else { return nil }
            typealias Getter = @convention(c) () -> UnsafeMutablePointer<CChar>?
            return unsafeBitCast(function, to: Getter.self)().map { String(cString: $0) }
        }
        func integer(_ name: String) -> Int? {
            guard let function = symbol(name) else { return nil }
            typealias Getter = @convention(c) () -> Int32
            return Int(unsafeBitCast(function, to: Getter.self)())
        }
        var library: String?
        if let sgemm = symbol("cblas_sgemm") {
            if let name = vk_shared_object_of(sgemm) {
                let path = String(cString: name)
                library =
                    realpath(path, nil).map { resolved in
                        defer { free(resolved) }
                        return String(cString: resolved)
                    } ?? path
            }
        }
        let mask = vk_cpu_feature_mask()
        let features = (0..<vk_cpu_feature_count()).compactMap { index -> String? in
            guard mask & (1 << UInt32(index)) != 0, let name = vk_cpu_feature_name(index) else { return nil }
            return String(cString: name)
        }
        let threading = integer("openblas_get_parallel").map { mode in
            switch mode {
            case 0: "sequential"
            case 1: "pthreads"
            case 2: "openmp"
            default: "mode \(mode)"
            }
        }
        let override = getenv("MEMP_SIMD").map { String(cString: $0) }
        return RuntimeReport(
            blasLibrary: library, openBLASConfiguration: text("openblas_get_config"),
            openBLASCore: text("openblas_get_corename"), blasThreads: integer("openblas_get_num_threads"),
            blasThreading: threading, cpuFeatures: features, hardwareLevel: SIMDLevel.hardware.rawValue,
            kernelLevel: SIMDLevel.detected.rawValue, simdOverride: override,
            int8UsesVNNI: SIMDLevel.detected == .avx512 && SIMDLevel.hasVNNI, blasCrossover: FlatIndex.blasCrossover)
    }
}

/// Process-wide BLAS settings.
public enum BLASThreads {
    /// Sets the number of threads OpenBLAS uses for every later BLAS call in this process.
    ///
    /// For command-line tools that take a thread count; a library embedding Memp should leave the BLAS
    /// configuration to its host. Environment variables are not touched.
    ///
    /// - Returns: Whether the loaded BLAS is OpenBLAS and accepted the setting; `false`, with nothing changed, for a
    ///   count below 1.
    @discardableResult
    public static func set(_ count: Int) -> Bool {
        guard count >= 1 else { return false }
        guard let process = dlopen(nil, RTLD_NOW) else { return false }
        defer { dlclose(process) }
        guard let function = dlsym(process, "openblas_set_num_threads") else { return false }
        typealias Setter = @convention(c) (Int32) -> Void
        unsafeBitCast(function, to: Setter.self)(Int32(clamping: count))
        return true
    }
}
