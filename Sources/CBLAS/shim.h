// Debian's cblas.h (an alternative pointing at OpenBLAS's once libopenblas-dev is installed) and LAPACKE.
// At run time libblas.so.3 resolves through Debian's alternatives to OpenBLAS when libopenblas0 is installed.
#include <cblas.h>
#include <lapacke.h>
