"""Joins the per-area markdown sections in Benchmarks/results/*.md into docs/benchmarks.md, with the machine."""
import glob
import os
import platform
import subprocess

def cpu_model():
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()

here = os.path.dirname(os.path.abspath(__file__))
print("# Benchmarks\n")
print("Produced by `bash Benchmarks/run.sh`; every ratio compares figures measured in the same run on the same data.")
print("Machines are noisy: compare within one section, never across runs.\n")
mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
print(f"Machine: {cpu_model()}, {os.cpu_count()} logical CPUs, {mem:.0f} GiB, {platform.platform()}.\n")
for path in sorted(glob.glob(os.path.join(here, "results", "*.md"))):
    print(open(path).read().rstrip() + "\n")
