"""Markdown section for the embeddings area from the raw JSON of embeddings.sh.

    python3 embeddings_report.py RAW_DIR [LOAD_JSON]
"""
import datetime
import json
import os
import platform
import sys

raw = sys.argv[1]
load = json.load(open(sys.argv[2])) if len(sys.argv) > 2 else None
read = lambda name: json.load(open(os.path.join(raw, name)))
sgemm = [read("embeddings-sgemm.json"), read("embeddings-sgemm-after.json")]
rate = max(s["best_gflops"] for s in sgemm)
linear_flops = 2.0 * 6 * (384 * 1152 + 384 * 384 + 2 * 384 * 1536)
flops = lambda tokens: sum(linear_flops * n + 4 * n * n * 384 * 6 for n in tokens)
sets = [("short", "short task-like sentences (the shared anchor's)"),
        ("sample", "task texts of data/textworld-sample"),
        ("long", "generated texts of 100-250 tokens")]
cpu = "unknown CPU"
for line in open("/proc/cpuinfo"):
    if line.startswith("model name"):
        cpu = line.split(":", 1)[1].strip()
        break
st_versions = read("embeddings-st-short.json")["versions"]
env = {k: v for k, v in os.environ.items() if k.startswith("OPENBLAS") or k in ("OMP_NUM_THREADS", "MKL_NUM_THREADS")}

print("## Embeddings: all-MiniLM-L6-v2, Memp vs sentence-transformers\n")
stamp = lambda name: datetime.datetime.fromtimestamp(os.path.getmtime(os.path.join(raw, name)), datetime.timezone.utc)
print(f"Run {stamp('embeddings-sgemm.json'):%Y-%m-%d %H:%M}–{stamp('embeddings-sgemm-after.json'):%H:%M} UTC by `bash Benchmarks/run.sh embeddings` on "
      f"{os.cpu_count()} CPUs ({cpu}, {platform.machine()}), float32. Memp's encoder runs on its own packed kernels "
      "and never calls BLAS; sentence-transformers "
      f"{st_versions['sentence_transformers']} on torch {st_versions['torch']} with 2 intra-op threads. "
      + ("Environment as a user has it: no OPENBLAS_NUM_THREADS or other tuning variable set. " if not env else
         f"**Tuning variables set for this run: {env}.** ")
      + f"Batch 32 is one call over all texts (median of {read('embeddings-memp-short.json')['batch32_passes']} "
      "passes); batch 1 one call per text. Memp and "
      "sentence-transformers ran one after the other on each set; the load average (1 min) at the end of each "
      "side's run is shown, because this 2-CPU machine is shared with other builds: compare ratios within a row.\n")
print("| texts (mean tokens) | batch 32: Memp / ST (sentences/s) | ratio | batch 1 median: Memp / ST (ms) | ratio "
      "| Memp GFLOP/s b32 / b1 (share of sgemm) | load Memp / ST |")
print("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
for name, title in sets:
    memp, st = read(f"embeddings-memp-{name}.json"), read(f"embeddings-st-{name}.json")
    b32 = memp["batch32_sentences_per_s"] / st["batch32_sentences_per_s"]
    b1 = st["latency_ms_median"] / memp["latency_ms_median"]
    g32, g1 = memp["gflops_batch32"], memp["gflops_batch1"]
    print(f"| {memp['n_sentences']:,} {title} ({memp['tokens_per_sentence_mean']:.0f}) | {memp['batch32_sentences_per_s']:.1f} / "
          f"{st['batch32_sentences_per_s']:.1f} | {b32:.2f}x | {memp['latency_ms_median']:.2f} / "
          f"{st['latency_ms_median']:.2f} | {b1:.2f}x | {g32:.0f} / {g1:.0f} ({g32 / rate:.0%} / {g1 / rate:.0%}) | "
          f"{memp['loadavg_end'].split()[0]} / {st['loadavg_end'][0]:.1f} |")
print()
print(f"sgemm rate of this machine, measured in the same run (numpy {sgemm[0]['numpy']} float32 matmul on its "
      "OpenBLAS, default threads, best of 7): "
      + "; ".join(f"{shape} {g:.0f} GFLOP/s" for shape, g in sgemm[0]["gflops"].items())
      + f" before the embedding runs (load {sgemm[0]['loadavg'][0]:.1f}), best {sgemm[1]['best_gflops']:.0f} after "
      f"(load {sgemm[1]['loadavg'][0]:.1f}). The share column divides the encoder's useful arithmetic (21.2 MFLOP "
      f"a token for the linear layers plus 4·n²·384 a layer for attention; padding is not counted for either side) "
      f"by the best of these, {rate:.0f} GFLOP/s.\n")
memp = read("embeddings-memp-short.json")
st = read("embeddings-st-short.json")
print(f"Peak resident memory (VmHWM, whole process, short set): Memp {memp['peak_rss_bytes'] / 2**20:.0f} MiB, "
      f"sentence-transformers {st['peak_rss_bytes'] / 2**20:.0f} MiB (with Python and torch). Model load: Memp "
      f"{memp['load_seconds']:.2f} s.\n")
if load:
    q, b = load["quiet"], load["busy"]
    print("### Under load: two CPU-bound busy processes\n")
    print(f"`memp import` of data/textworld-sample (640 trajectories) into a new MiniLM store, and `memp embed` of "
          f"64 of its task texts (one process each, model load included), median of {load['runs']} runs"
          + (f" ({load['started_utc']}–{load['ended_utc']} UTC)" if "started_utc" in load else "") + ", first "
          f"on the machine as it was, then beside two `python3 -c 'while True: pass'` processes (killed after). "
          f"OPENBLAS_NUM_THREADS: {load['openblas_num_threads']}.\n")
    print("| | as it was (s) | beside 2 busy processes (s) | ratio | load as it was / busy |")
    print("| --- | ---: | ---: | ---: | ---: |")
    for key, label in [("import_s", "import of the sample"), ("embed64_s", "`memp embed`, 64 task texts")]:
        print(f"| {label} | {q[key]:.2f} | {b[key]:.2f} | {b[key] / q[key]:.2f}x | "
              f"{q['loadavg'][0]:.1f} / {b['loadavg'][0]:.1f} |")
    print()
