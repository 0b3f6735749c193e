"""The kit against PyTorch CPU and the GEMM floor, in separate processes, alternating, several rounds.

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE .venv/bin/python bench/run.py --readme

Each round runs, for each model (mlp, ae, conv), the kit, PyTorch and the GEMM floor once each, every
one in a fresh process (the order of kit and PyTorch swaps every round, so a slow spell of the shared
machine hits both; `--baseline OTHER.ipynb` adds the kit on another modules notebook, for before/after).
A process times `--epochs` epochs of `--steps` training steps, in wall-clock and in CPU seconds; the
table shows medians over rounds, and each ratio is the median of the per-round ratios (each pair
measured back to back). PyTorch lives in its own venv, bench/.venv-torch, made on first use
(`pip install torch==2.13.0`, a CPU wheel); it is never a requirement of the kit. See bench/README.md.
"""
import argparse
import datetime
import json
import os
import platform
import re
import statistics
import subprocess
import sys
import venv

BENCH = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(BENCH)
TORCH_VENV = os.path.join(BENCH, ".venv-torch")
TORCH_PYTHON = os.path.join(TORCH_VENV, "bin", "python")
TORCH_REQUIREMENTS = ["torch==2.13.0", "numpy==2.4.6", "threadpoolctl==3.8.0"]
README = os.path.join(BENCH, "README.md")
BEGIN, END = "<!-- bench:begin -->", "<!-- bench:end -->"
MODEL_NAMES = {"mlp": "MLP 784-512-256-10, batch 128", "ae": "autoencoder 784-...-30-...-784, batch 256",
               "conv": "Conv2d 1-16-16 3x3 fwd+bwd, 28x28, batch 128"}


def ensure_torch_venv():
    """Creates bench/.venv-torch with PyTorch's CPU wheel unless it is there."""
    if os.path.exists(TORCH_PYTHON):
        return
    print(f"creating {TORCH_VENV} with {' '.join(TORCH_REQUIREMENTS)} ...", file=sys.stderr)
    venv.create(TORCH_VENV, with_pip=True)
    subprocess.run([TORCH_PYTHON, "-m", "pip", "install", "--quiet", *TORCH_REQUIREMENTS], check=True)


def worker_env(threads):
    """The parent's environment with every thread pool pinned to `threads` (like with like)."""
    env = dict(os.environ)
    for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        env[name] = str(threads)
    env["PYTHONPATH"] = ROOT
    env["PYTHONWARNINGS"] = "ignore"
    return env


def run_worker(impl, model, args):
    """Runs one worker process; impl is "kit", "before" (the kit on --baseline), "torch" or "gemm"."""
    python = TORCH_PYTHON if impl == "torch" else sys.executable
    module = "kit" if impl == "before" else impl
    cmd = [python, "-m", f"bench.{module}_worker", model, "--epochs", str(args.epochs)]
    if args.steps:
        cmd += ["--steps", str(args.steps)]
    if impl == "torch":
        cmd += ["--threads", str(args.threads)]
    if impl in ("kit", "before"):
        cmd += ["--notebook", args.notebook if impl == "kit" else args.baseline]
    done = subprocess.run(cmd, cwd=ROOT, env=worker_env(args.threads), capture_output=True, text=True)
    if done.returncode != 0:
        sys.exit(f"bench/run.py: {' '.join(cmd)} failed (exit {done.returncode}):\n{done.stderr}")
    result = json.loads(done.stdout.strip().splitlines()[-1])
    result["impl"] = impl
    result["median_epoch"] = statistics.median(result["epoch_seconds"])
    result["median_cpu"] = statistics.median(result["epoch_cpu_seconds"])
    result["load"] = os.getloadavg()[0]
    return result


def machine():
    try:
        with open("/proc/cpuinfo") as f:
            cpu = re.search(r"model name\s*:\s*(.*)", f.read()).group(1)
    except (OSError, AttributeError):
        cpu = platform.processor() or "unknown CPU"
    return f"{cpu}, {os.cpu_count()} cores, Python {platform.python_version()}"


def ratio(rounds, a, b, key="median_epoch"):
    """Median and range over rounds of a's epoch time over b's, each pair measured back to back."""
    values = [r[a][key] / r[b][key] for r in rounds]
    return f"**{statistics.median(values):.2f}** ({min(values):.2f}-{max(values):.2f})"


def row(results, model, baseline):
    """One table row from all rounds of one model."""
    by_round = {}
    for r in results:
        if r["model"] == model:
            by_round.setdefault(r["round"], {})[r["impl"]] = r
    rounds = [by_round[k] for k in sorted(by_round)]
    sec = lambda impl: f"{statistics.median(r[impl]['median_epoch'] for r in rounds):.3f}"
    rss = lambda impl: f"{max(r[impl]['peak_rss_mb'] for r in rounds):.0f}"
    loss = lambda impl: "-" if model == "conv" else f"{rounds[-1][impl]['loss']:.3g}"
    cells = [MODEL_NAMES[model], sec("kit"), sec("torch"), sec("gemm"),
             ratio(rounds, "kit", "torch"), ratio(rounds, "kit", "gemm"),
             ratio(rounds, "kit", "torch", "median_cpu"), ratio(rounds, "kit", "gemm", "median_cpu")]
    if baseline:
        cells += [sec("before"), ratio(rounds, "before", "torch"), ratio(rounds, "kit", "before"),
                  ratio(rounds, "kit", "before", "median_cpu")]
    cells += [f"{rss('kit')} / {rss('torch')}", f"{loss('kit')} / {loss('torch')}"]
    return "| " + " | ".join(cells) + " |"


def table(results, args, loads):
    first = {r["impl"]: r for r in results}
    steps = f"{args.steps} training steps" if args.steps else "100 training steps (conv: 10)"
    header = ["model", "kit s/epoch", "PyTorch s/epoch", "GEMM floor s/epoch", "kit / PyTorch", "kit / GEMM floor",
              "CPU time: kit / PyTorch", "CPU time: kit / GEMM floor"]
    if args.baseline:
        header += ["before s/epoch", "before / PyTorch", "kit / before", "CPU time: kit / before"]
    header += ["peak RSS kit / PyTorch (MiB)", "last loss kit / PyTorch"]
    lines = [
        f"Run {datetime.date.today().isoformat()} on {machine()}; load average (1 min) "
        f"{min(loads):.1f}-{max(loads):.1f} during the run (the machine is shared).",
        f"Command: `{args.command}`",
        f"Threads: kit and GEMM floor `{first['kit']['threads']}` (numpy {first['kit']['numpy']}); "
        f"PyTorch {first['torch']['torch']} `{first['torch']['threads']}`.",
        f"{args.rounds} rounds; an epoch is {steps}, not a pass over the data; each process times "
        f"{args.epochs} epochs after 20 warm-up steps. Seconds: wall-clock medians; ratios: median (min-max) of "
        "the per-round ratios, each pair run back to back. CPU time (user + system, all threads) is what a "
        "single-threaded run is charged whatever the neighbours do; with more threads it also counts spin-waiting.",
        "",
        "| " + " | ".join(header) + " |",
        "| --- |" + " ---: |" * (len(header) - 1),
    ]
    lines += [row(results, model, args.baseline) for model in args.models]
    return "\n".join(lines)


def write_readme(text):
    with open(README) as f:
        readme = f.read()
    if BEGIN not in readme or END not in readme:
        sys.exit(f"{README}: no {BEGIN} ... {END} markers to put the table between")
    head, rest = readme.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    with open(README, "w") as f:
        f.write(f"{head}{BEGIN}\n{text}\n{END}{tail}")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--steps", type=int, help="training steps per timed epoch (default 100; conv 10)")
    parser.add_argument("--epochs", type=int, default=3, help="timed epochs per process")
    parser.add_argument("--threads", type=int, default=2, help="threads of numpy's BLAS and of PyTorch")
    parser.add_argument("--models", nargs="+", default=list(MODEL_NAMES), choices=list(MODEL_NAMES))
    parser.add_argument("--notebook", default=os.path.join(ROOT, "HW3_Modules.ipynb"),
                        help="the modules notebook the kit's worker loads (default: the kit's own)")
    parser.add_argument("--baseline", help="another modules notebook to time beside the kit's (before/after)")
    parser.add_argument("--readme", action="store_true", help="write the table into bench/README.md")
    parser.add_argument("--json", help="also save every process's result to this file")
    args = parser.parse_args()
    unset = [name for name in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE") if name not in os.environ]
    python = os.path.relpath(sys.executable, ROOT) if sys.executable.startswith(ROOT) else "python"
    args.command = ("env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE " if len(unset) == 2 else "") + \
        " ".join([python, "bench/run.py"] + sys.argv[1:])
    ensure_torch_venv()

    results, loads = [], []
    for rnd in range(args.rounds):
        for model in args.models:
            order = ["kit", "torch"] if rnd % 2 == 0 else ["torch", "kit"]
            order = order + (["before"] if args.baseline else []) + ["gemm"]
            for impl in order:
                r = run_worker(impl, model, args)
                r["round"] = rnd
                results.append(r)
                loads.append(r["load"])
                print(f"round {rnd + 1}/{args.rounds} {model:<4} {impl:<6} {r['median_epoch']:.3f} s/epoch "
                      f"(load {r['load']:.1f})", file=sys.stderr, flush=True)
    text = table(results, args, loads)
    print(text)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=1)
    if args.readme:
        write_readme(text)


if __name__ == "__main__":
    main()
