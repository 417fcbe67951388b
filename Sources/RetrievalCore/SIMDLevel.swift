package import CKernels

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// The instruction-set level the C kernels (vector scans, matrix products) run at, slowest first.
///
/// Detected once from the CPU (`cpuid` and the OS's saved register state), never fixed at compile time. The
/// environment variable `MEMP_SIMD` (`scalar`, `avx2` or `avx512`) forces a lower level, so every path can be
/// tested on one machine; a level the CPU lacks is ignored with the detected level kept.
package enum SIMDLevel: String, CaseIterable, Sendable, Comparable {
    /// Portable C loops.
    case scalar
    /// AVX2 with FMA, 8 floats per instruction.
    case avx2
    /// AVX-512 (F, BW, VL, DQ), 16 floats per instruction; int8 uses VNNI when the CPU has it.
    case avx512

    /// The fastest level this CPU supports.
    package static let hardware: SIMDLevel = SIMDLevel(vk_detect_simd_level())

    /// The level used by default: ``hardware``, or the lower level named by `MEMP_SIMD`.
    package static let detected: SIMDLevel = {
        guard let value = getenv("MEMP_SIMD").map({ String(cString: $0) }), !value.isEmpty else { return hardware }
        guard let forced = SIMDLevel(rawValue: value.lowercased()), forced <= hardware else { return hardware }
        return forced
    }()

    /// Every level this CPU can run, slowest first.
    package static let available: [SIMDLevel] = allCases.filter { $0 <= hardware }

    /// Whether the CPU has AVX-512 VNNI, which the int8 kernels use at the AVX-512 level.
    package static let hasVNNI: Bool = vk_cpu_has_avx512_vnni() != 0

    package static func < (lhs: SIMDLevel, rhs: SIMDLevel) -> Bool { lhs.rank < rhs.rank }

    private var rank: Int {
        switch self {
        case .scalar: 0
        case .avx2: 1
        case .avx512: 2
        }
    }

    package init(_ level: vk_simd_level) {
        switch level {
        case VK_SIMD_AVX512: self = .avx512
        case VK_SIMD_AVX2: self = .avx2
        default: self = .scalar
        }
    }

    package var cValue: vk_simd_level {
        switch self {
        case .scalar: VK_SIMD_SCALAR
        case .avx2: VK_SIMD_AVX2
        case .avx512: VK_SIMD_AVX512
        }
    }
}
