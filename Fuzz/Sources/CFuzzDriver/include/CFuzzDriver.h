#ifndef MEMP_FUZZ_DRIVER_H
#define MEMP_FUZZ_DRIVER_H
#include <stddef.h>
#include <stdint.h>
/// libFuzzer's entry point for programs that have their own main (SwiftPM names an executable's entry point
/// `<Module>_main`, so libFuzzer's main is not linked).
int LLVMFuzzerRunDriver(int *argc, char ***argv, int (*callback)(const uint8_t *data, size_t size));
#endif
