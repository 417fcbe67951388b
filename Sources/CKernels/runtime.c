#define _GNU_SOURCE
#include "CKernels.h"

#include <dlfcn.h>

// dladdr needs _GNU_SOURCE, which Swift's Glibc module does not define, so `memp doctor` asks here.

const char *_Nullable vk_shared_object_of(const void *_Nullable address) {
    Dl_info info;
    if (!address || dladdr(address, &info) == 0) return 0;
    return info.dli_fname;
}
