"""Markdown section for the embeddings area from EmbeddingBench's and the sentence-transformers JSON."""
import datetime
import json
import os
import sys

memp = json.load(open(sys.argv[1]))
st = json.load(open(sys.argv[2]))
mib = lambda b: f"{b / 2**20:.0f} MiB"
ratio = lambda a, b: f"{a / b:.2f}x" if b else "n/a"
versions = st.get("versions", {})
load = os.getloadavg()

print("## Embeddings: all-MiniLM-L6-v2, Memp vs sentence-transformers\n")
print(f"Run {datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC by `bash Benchmarks/run.sh embeddings`: "
      f"{memp['n_sentences']} task-like sentences (the shared anchor's, mean "
      f"{memp['tokens_per_sentence_mean']:.1f} tokens with [CLS]/[SEP]), float32 on the CPU, "
      f"{st.get('threads')} threads each (Memp's packed projections over both cores plus OpenBLAS for attention, torch intra-op for sentence-transformers "
      f"{versions.get('sentence_transformers', '?')} on torch {versions.get('torch', '?')}). "
      "Batch 32 is one call over all sentences (median of 3 passes); batch 1 is one call per sentence. "
      f"Load average at the end: {load[0]:.1f}.\n")
print("| | Memp MiniLMEmbedder | sentence-transformers | Memp / ST |")
print("| --- | ---: | ---: | ---: |")
rows = [
    ("sentences/s, batch 32", memp["batch32_sentences_per_s"], st["batch32"]["sentences_per_s"], True),
    ("sentences/s, batch 1", memp["batch1_sentences_per_s"], st["batch1"]["sentences_per_s"], True),
    ("latency per sentence, median (ms)", memp["latency_ms_median"], st["batch1"]["latency_ms_median"], False),
    ("latency per sentence, p90 (ms)", memp["latency_ms_p90"], st["batch1"]["latency_ms_p90"], False),
]
for name, ours, theirs, higher_is_better in rows:
    shown = ratio(ours, theirs) if higher_is_better else ratio(theirs, ours) + " faster"
    print(f"| {name} | {ours:.1f} | {theirs:.1f} | {shown} |")
print(f"| peak resident memory (process) | {mib(memp['peak_rss_bytes'])} | {mib(st['peak_rss_bytes'])} | |")
print(f"| model load (s) | {memp['load_seconds']:.2f} | | |\n")
share = st.get("load", {}).get("other_processes_cpu_share")
if share is not None:
    print(f"Other processes used {share:.0%} of the CPUs during the sentence-transformers run "
          f"({st['load'].get('wall_s', 0):.0f} s); both sides ran on the same shared machine one after the other, "
          "so absolute figures are far below an idle machine's.\n")
print("Peak memory is VmHWM of each process: Memp's covers the whole benchmark process; "
      "sentence-transformers' includes the Python interpreter and torch. The machine is shared: compare "
      "within this table only.\n")
