#!/usr/bin/env python3
"""Turns the raw JSON of dense_peers.py into the dense-vector section of docs/benchmarks.md (stdout).

  python3 vector_report.py RAW.json

Every ratio compares figures of the same run. Targets are issue 3's; each line says PASS or MISS, and each
miss says what limits it.
"""
import json
import sys

SINGLE_TARGET = 1.5      # x FAISS single-query qps
BANDWIDTH_TARGET = 0.70  # share of the measured stream-read bandwidth at 1M
BATCH_TARGET = 1.0       # x FAISS batch qps at 100k
INT8_TARGET = 2.5        # x our f32 single-query qps
INT8_RECALL = 0.99
RSS_TARGET = 1.1         # x raw f32 bytes


def fmt(x, nd=1):
    if x is None:
        return "n/a"
    if isinstance(x, float) and abs(x) >= 100:
        return f"{x:,.0f}"
    return f"{x:,.{nd}f}"


def ratio(a, b):
    return None if a is None or not b else a / b


def verdict(ok):
    return "n/a" if ok is None else ("**PASS**" if ok else "**MISS**")


def best_single(peer, size):
    """The faster thread setting of a peer's single-query run: (qps, label, figures)."""
    runs = peer.get(size, {}).get("single_query", {})
    if not runs:
        return None, None, None
    label, fig = max(runs.items(), key=lambda kv: kv[1]["qps"])
    return fig["qps"], label.replace("omp_threads_", "OMP ").replace("blas_threads_", "BLAS "), fig


def label(size):
    return size.upper() if size == "1m" else size


def bw2(block):
    return (block or {}).get("threads_2", {}).get("GBps")


def bw1(block):
    return (block or {}).get("threads_1", {}).get("GBps")


def main():
    raw = json.load(open(sys.argv[1]))
    faiss, numpy = raw["faiss_flat_ip"], raw["numpy_exact"]
    ours = raw.get("ours") or {}
    out = []
    p = out.append

    p("## Dense vectors: FlatIndex vs FAISS `IndexFlatIP` and numpy\n")
    load = raw.get("machine_load", {})
    env = raw.get("openblas_env", {})
    cpu = raw.get("cpu", {})
    p(f"Run {raw['timestamp_utc']} (UTC) with `bash Benchmarks/run.sh vector`"
      f"{' (**quick smoke run, not figures**)' if raw.get('quick') else ''}. "
      f"CPU: {cpu.get('model_name')} ({cpu.get('amd_zen_generation_guess') or cpu.get('vendor')}), "
      f"{cpu.get('logical_cpus')} logical CPUs, flags {', '.join(cpu.get('flags', []))}. "
      f"Environment as set: " + ", ".join(f"`{k}={v}`" for k, v in env.items() if v is not None) + ". "
      f"numpy {raw['numpy']}, faiss-cpu {raw['faiss']} ({raw['faiss_compile_options']}), "
      f"Python {raw['python']}.")
    rt = next((ours[s]["runtime"] for s in ("100k", "1m") if "runtime" in ours.get(s, {})), None)
    if rt:
        o = ours.get("100k") or ours.get("1m")
        p(f"\nOurs: SIMD kernels at `{rt.get('kernelLevel')}` (hardware `{rt.get('hardwareLevel')}`"
          f"{', override ' + rt['simdOverride'] if rt.get('simdOverride') else ''}; int8 VNNI "
          f"{'on' if rt.get('int8UsesVNNI') else 'off'}); BLAS `{rt.get('blasLibrary')}` (OpenBLAS core "
          f"{rt.get('openBLASCore')}, {rt.get('blasThreads')} threads, {rt.get('blasThreading')}); "
          f"`parallelism` {o.get('parallelism')}, BLAS from {o.get('blasCrossover')} queries per batch, "
          f"int8 rescoring {o.get('int8RescoreFactor')} candidates per hit in f32.")
    share = load.get("other_processes_cpu_share")
    p(f"\nMachine load: load average {load.get('loadavg_start')} at the start and {load.get('loadavg_end')} at "
      f"the end; other processes used {fmt(100 * share if share is not None else None, 1)} % of the CPUs during "
      f"the run (steal {fmt(100 * (load.get('steal_share') or 0), 1)} %), "
      f"machine quiet at start: {raw.get('machine_quiet_at_start')}."
      + (f" **{load['warning']}**" if load.get("warning") else ""))
    phases = raw.get("load_by_phase") or {}
    if phases:
        p("\nOther processes' share of the CPUs in each phase (each phase first waits for an idle machine): " +
          ", ".join(f"{name.replace('_', ' ')} {fmt(100 * (v.get('other_processes_cpu_share') or 0), 0)} %"
                    for name, v in phases.items()) + ".")
    pr = raw["params"]
    p(f"\nData: the anchors' `gen_data.py` (seed 42, L2-normalised Gaussian, d={pr['dim']}), queries "
      f"`queries_1k.fvecs`, ground truth `gt_*_top100.ivecs`. Single query: {pr['single_queries']} queries one "
      f"call each, k={pr['k']}, median of {pr['reps']['100k']} reps (100k) / {pr['reps']['1m']} (1M). "
      f"Batch: all {pr['batch_queries']} queries in one call. Ours: inner-product `FlatIndex`, release build. "
      f"Peers: the anchors' `bench_dense.py` code; for each peer the faster of its thread settings.\n")

    bw = {"start": raw.get("bandwidth_start"), "before ours": raw.get("bandwidth_before_ours"),
          "end": raw.get("bandwidth_end")}
    bw_max = max((bw2(v) for v in bw.values() if bw2(v)), default=None)
    p("Stream-read bandwidth (anchors' `stream_read.c`, 1.5 GB, GB/s, 1 / 2 threads): " + "; ".join(
        f"{k} {fmt(bw1(v))} / {fmt(bw2(v))}" for k, v in bw.items() if v) +
      f". The targets use the highest 2-thread figure, {fmt(bw_max)} GB/s.\n")

    rows = []
    limits = []

    def row(name, o, f, n, target, ok, extra="", limit=None):
        rows.append(f"| {name} | {o} | {f} | {n} | {extra} | {target} | {verdict(ok)} |")
        if ok is False and limit:
            limits.append(f"- *{name}*: {limit}")

    o100, o1m, oopen = ours.get("100k", {}), ours.get("1m", {}), ours.get("open_1m", {})
    bw_1 = max((bw1(v) for v in bw.values() if bw1(v)), default=None)

    def load_note(*names):
        """Says when other processes took a real share of the CPUs while these phases ran."""
        shares = [(phases.get(n) or {}).get("other_processes_cpu_share") for n in names]
        worst = max((x for x in shares if x is not None), default=None)
        if worst is None or worst <= 0.05:
            return ""
        return f" Other processes took {fmt(100 * worst, 0)} % of the CPUs meanwhile, so part of this is load."

    def scan_limit(fig, bytes_per_query_note):
        """Why a single-query scan is slower than wanted: too few cores, or a kernel below bandwidth."""
        cores, gbps = fig["coresBusy"], fig["effectiveGBps"]
        if cores < 1.7:
            why = (f"one query kept only {fmt(cores, 2)} of 2 cores busy; "
                   f"at {fmt(gbps)} GB/s it is below one core's stream read ({fmt(bw_1)} GB/s)"
                   if bw_1 and gbps < bw_1 else f"one query kept only {fmt(cores, 2)} of 2 cores busy")
        elif bw_max and gbps >= 0.9 * bw_max:
            why = f"memory-bound: {fmt(gbps)} GB/s is at the measured stream read ({fmt(bw_max)} GB/s)"
        else:
            why = (f"both cores busy but only {fmt(gbps)} GB/s of {fmt(bw_max)}: the fused scan + top-k kernel is "
                   f"compute-bound{bytes_per_query_note}")
        return why
    have = {s: "f32" in ours.get(s, {}) for s in ("100k", "1m")}

    # Single query, f32
    for size in ("100k", "1m"):
        fq, fl, _ = best_single(faiss, size)
        nq, nl, _ = best_single(numpy, size)
        mine = ours.get(size, {}).get("f32", {}).get("single") if have[size] else None
        oq = mine["qps"] if mine else None
        r_f, r_n = ratio(oq, fq), ratio(oq, nq)
        extra = ""
        if mine:
            extra = (f"median {fmt(mine['medianMilliseconds'], 2)} ms, p99 {fmt(mine['p99Milliseconds'], 2)} ms, "
                     f"{fmt(mine['effectiveGBps'])} GB/s, {fmt(mine['coresBusy'], 2)} cores busy")
        row(f"single query f32, {label(size)}: queries/s",
            f"{fmt(oq)}", f"{fmt(fq)} ({fl})", f"{fmt(nq)} ({nl})", f"≥ {SINGLE_TARGET}x FAISS",
            None if r_f is None else r_f >= SINGLE_TARGET,
            extra + (f"; **{fmt(r_f, 2)}x FAISS, {fmt(r_n, 2)}x numpy**" if r_f else ""),
            limit=(f"{fmt(r_f, 2)}x FAISS; {scan_limit(mine, '')}.{load_note('ours_' + size, 'peers')}"
                   if mine else None))
        if size == "1m":
            gbps = mine["effectiveGBps"] if mine else None
            share = ratio(gbps, bw_max)
            _, _, ff = best_single(faiss, size)
            row("single query f32, 1M: effective GB/s", fmt(gbps), fmt(ff.get("effective_GBps")) if ff else "n/a",
                "", f"≥ {int(BANDWIDTH_TARGET * 100)} % of {fmt(bw_max)} GB/s",
                None if share is None else share >= BANDWIDTH_TARGET,
                f"{fmt(100 * share if share else None, 0)} % of the 2-thread stream read" if share else "",
                limit=(f"{fmt(100 * share, 0)} % of the stream read; {scan_limit(mine, '')}."
                       f"{load_note('ours_1m')}" if mine else None))

    # Batch
    for size in ("100k", "1m"):
        fb = faiss.get(size, {}).get("batch", {}).get("qps")
        nb = numpy.get(size, {}).get("batch", {}).get("qps")
        mine = ours.get(size, {}).get("f32", {}).get("batch") if have[size] else None
        ob = mine["qps"] if mine else None
        r = ratio(ob, fb)
        target = f"≥ {BATCH_TARGET}x FAISS" if size == "100k" else "(none)"
        ok = (None if r is None else r >= BATCH_TARGET) if size == "100k" else None
        row(f"batch of 1,000 f32, {label(size)}: queries/s", fmt(ob), fmt(fb), fmt(nb), target, ok,
            (f"{fmt(mine['seconds'], 3)} s per batch, {fmt(mine['coresBusy'], 2)} cores busy; "
             f"**{fmt(r, 2)}x FAISS, {fmt(ratio(ob, nb), 2)}x numpy**") if mine else "",
            limit=(f"{fmt(r, 2)}x FAISS with {fmt(mine['coresBusy'], 2)} cores busy; "
                   f"{fmt(2.0 * 1000 * (o100 if size == '100k' else o1m).get('rows', 0) * pr['dim'] / mine['seconds'] / 1e9, 0)}"
                   f" GFLOP/s effective (numpy's sgemm anchor: about 250 on this machine)."
                   f"{load_note('ours_' + size, 'peers')}") if mine else None)

    # int8
    for size in ("100k", "1m"):
        rep = ours.get(size, {}) if have[size] else {}
        i8 = rep.get("int8", {}).get("single")
        f32 = rep.get("f32", {}).get("single")
        sp = rep.get("int8OverF32SingleQPS")
        ok = None if i8 is None else (sp >= INT8_TARGET and i8["recallAt10"] >= INT8_RECALL)
        row(f"single query int8, {label(size)}: queries/s", fmt(i8["qps"]) if i8 else "n/a", "", "",
            f"≥ {INT8_TARGET}x our f32, recall@10 ≥ {INT8_RECALL}", ok,
            (f"**{fmt(sp, 2)}x our f32** ({fmt(f32['qps'])}), recall@10 {i8['recallAt10']}, "
             f"{fmt(i8['effectiveGBps'])} GB/s of int8 codes, {fmt(i8['coresBusy'], 2)} cores busy") if i8 else "",
            limit=(f"{fmt(sp, 2)}x f32 at recall@10 {i8['recallAt10']}; the int8 scan reads a quarter of the "
                   f"bytes but runs at {fmt(i8['effectiveGBps'])} GB/s of codes with {fmt(i8['coresBusy'], 2)} cores "
                   f"busy, and each query rescoring {rep.get('int8RescoreFactor')}x{pr['k']} candidates in f32 "
                   f"touches random rows; {scan_limit(i8, ' (int8 dot products + rescoring)')}."
                   f"{load_note('ours_' + size)}" if i8 else None))

    # Recall
    for size in ("100k", "1m"):
        rep = ours.get(size, {}) if have[size] else {}
        s = rep.get("f32", {}).get("single", {}).get("recallAt10")
        b = rep.get("f32", {}).get("batch", {}).get("recallAt10")
        i8b = rep.get("int8", {}).get("batch", {}).get("recallAt10")
        fr = faiss.get(size, {}).get("recall_at_10_vs_gt")
        nr = numpy.get(size, {}).get("recall_at_10_vs_gt")
        ok = None if s is None else (s == 1.0 and b == 1.0)
        row(f"recall@10 f32 vs ground truth, {label(size)}", f"{s} (single) / {b} (batch)" if s is not None else "n/a",
            fmt(fr, 3), fmt(nr, 3), "= 1.0", ok,
            f"int8 batch recall@10 {i8b}" if i8b is not None else "",
            limit="exact search must return the exact top 10")

    # Memory
    if have["1m"]:
        f = o1m["f32"]
        rss = f["residentOverRawF32Bytes"]
        row("resident memory after building 1M x 384 f32", f"{fmt(rss, 3)}x raw bytes", "", "",
            f"≤ {RSS_TARGET}x raw ({fmt(o1m['rawVectorBytes'] / 1e9, 2)} GB)", rss <= RSS_TARGET,
            f"VmRSS {fmt(f['memoryAfterBuild']['vmRSSkB'] / 1e6, 2)} GB (before build "
            f"{fmt(f['memoryBeforeBuild']['vmRSSkB'] / 1e6, 3)} GB), peak VmHWM "
            f"{fmt(f['memoryAfterBuild']['vmHWMkB'] / 1e6, 2)} GB; int8 index "
            f"{fmt(o1m['int8']['residentOverRawF32Bytes'], 3)}x the f32 raw bytes",
            limit=("the f32 rows plus per-vector IDs and the ID-to-row dictionary (about 40 bytes a vector); "
                   "more means the row store over-allocates"))
    else:
        row("resident memory after building 1M x 384 f32", "n/a", "", "", f"≤ {RSS_TARGET}x raw", None)
    if "openVerifyWarmSeconds" in oopen:
        o = oopen
        if "residentShareBeforeColdRead" not in o:  # raw files from before the mincore check
            o["residentShareBeforeColdRead"] = o["residentShareBeforeColdOpen"] = (
                0.0 if o.get("pageCacheEvictionWorked") else 1.0)
        cold_valid = max(o["residentShareBeforeColdRead"], o["residentShareBeforeColdOpen"]) < 0.05
        ok = o["openVerifyWarmSeconds"] <= o["readWarmSeconds"] and (
            not cold_valid or o["openVerifyColdSeconds"] <= o["readColdSeconds"])
        mem = o["memoryAfterColdOpen"]
        row("open a saved 1M f32 index", f"{fmt(o['openVerifyWarmSeconds'], 3)} s (verify, warm)", "", "",
            "≤ one read of the file", ok,
            f"read of the {fmt(o['fileBytes'] / 1e9, 2)} GB file: {fmt(o['readWarmSeconds'], 3)} s warm, "
            f"{fmt(o['readColdSeconds'], 3)} s cold; open with checksums {fmt(o['openVerifyColdSeconds'], 3)} s cold "
            f"({fmt(o['openVerifyColdOverColdRead'], 2)}x the cold read), without {fmt(o['openNoVerifyWarmSeconds'], 4)} s; "
            f"after a cold open RssAnon {fmt(mem['rssAnonkB'] / 1e6, 2)} GB, RssFile {fmt(mem['rssFilekB'] / 1e6, 2)} GB; "
            f"first query {fmt(o['firstQueryAfterOpenMilliseconds'], 1)} ms, then median "
            f"{fmt(o['queryMedianMillisecondsAfterOpen'], 2)} ms, recall@10 {o['recallAt10AfterOpen']}"
            + ("" if cold_valid else f"; page-cache eviction left {fmt(100 * o['residentShareBeforeColdRead'], 0)} % / "
               f"{fmt(100 * o['residentShareBeforeColdOpen'], 0)} % of the file cached, so the cold figures are not cold"),
            limit=(f"open without checksums already takes {fmt(o['openNoVerifyWarmSeconds'], 3)} s (the ID section is "
                   "copied and the ID-to-row dictionary rebuilt, O(n)); verifying adds the CRC-32C pass over the "
                   f"file, {fmt(o['fileBytes'] / 1e9 / max(1e-9, o['openVerifyWarmSeconds'] - o['openNoVerifyWarmSeconds']), 1)}"
                   f" GB/s here, against {fmt(o['fileBytes'] / 1e9 / o['readWarmSeconds'], 1)} GB/s for read() from the page cache."
                   f"{load_note('ours_open_1m')}"))
    else:
        row("open a saved 1M f32 index", "n/a", "", "", "≤ one read of the file", None)

    p("| figure | ours | FAISS | numpy | details | target | verdict |")
    p("|---|---:|---:|---:|---|---|---|")
    out.extend(rows)
    if not ours:
        p("\n*VectorBench did not run (peers-only run): FlatIndex was not on main yet.*")
    if limits:
        p("\nWhat limits the misses:\n")
        out.extend(limits)

    # Crossover
    peers_x = {r["batch_size"]: r for r in raw.get("peer_crossover_100k", {}).get("rows", [])}
    ours_x = {r["batchSize"]: r for r in (o100.get("f32", {}).get("crossover") or [])}
    if peers_x:
        cx = raw["peer_crossover_100k"]
        t = cx["faiss_blas_threshold"]
        p(f"\nScan vs BLAS crossover, 100k f32: queries/s answering the same {cx['queries']} queries in batches "
          f"of each size. FAISS {raw['faiss']} compares `distance_compute_blas_threshold` ({t}) with queries x d, "
          f"so it scans with SIMD (threads over queries) below {t // pr['dim']} queries per call and uses sgemm "
          "above; with fewer queries than threads it runs a database-parallel sgemm instead. numpy always "
          "multiplies.\n")
        head = "| batch size | ours, SIMD scan | ours, BLAS | ours picks | FAISS | numpy |"
        p(head)
        p("|---:|---:|---:|---|---:|---:|")
        for b, r in sorted(peers_x.items()):
            o = ours_x.get(b, {})
            cells = [str(b), fmt(o.get("scanQPS")), fmt(o.get("blasQPS")), o.get("automaticPicks", "n/a"),
                     fmt(r["faiss_qps"]), fmt(r["numpy_qps"])]
            p("| " + " | ".join(cells) + " |")
        if ours_x:
            sizes = sorted(ours_x)
            # The smallest batch size from which BLAS wins at every larger size measured.
            wins = [b for b in sizes if all(ours_x[c]["blasQPS"] > ours_x[c]["scanQPS"] for c in sizes if c >= b)]
            p(f"\nOurs: BLAS beats the SIMD scan from batch size {wins[0] if wins else 'none measured'} on; "
              f"`BatchMethod.automatic` switches at {o100.get('blasCrossover')}.")

    # Env-unset extra row
    un = raw.get("openblas_env_unset")
    if un and "faiss_flat_ip" in un:
        p("\nExtra row, not used for the ratios above: FAISS and numpy in a separate process with "
          "`OPENBLAS_CORETYPE` and `OPENBLAS_L2_SIZE` unset (the anchors' own child run; OpenBLAS then picks "
          "its kernel by itself: " + ", ".join(
              f"{t.get('prefix')} {t.get('architecture')}" for t in (un.get("threadpools") or [])
              if t.get("internal_api") == "openblas") + ").\n")
        p("| figure | FAISS | numpy |")
        p("|---|---:|---:|")
        for size in ("100k", "1m"):
            fu, nu = un["faiss_flat_ip"].get(size, {}), un["numpy_exact"].get(size, {})
            p(f"| single query, {label(size)}: queries/s | {fmt(best_single(un['faiss_flat_ip'], size)[0])} | "
              f"{fmt(best_single(un['numpy_exact'], size)[0])} |")
            p(f"| batch of 1,000, {label(size)}: queries/s | {fmt(fu.get('batch', {}).get('qps'))} | "
              f"{fmt(nu.get('batch', {}).get('qps'))} |")
    print("\n".join(out))


if __name__ == "__main__":
    main()
