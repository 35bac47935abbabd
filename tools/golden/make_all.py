"""Regenerates the golden fixtures, or checks that they reproduce.

  /usr/bin/python3 tools/golden/make_all.py [gen_name ...]           write into test/fixtures/
  /usr/bin/python3 tools/golden/make_all.py --check [gen_name ...]   write into a temporary folder and compare
                                                                     with test/fixtures/ (tools/golden/compare.py)
PAPR_GOLDENS_OUT=DIR sends the files to DIR instead of test/fixtures/ (read by common.py).
"""
import importlib
import os
import random
import shutil
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))

# Determinism. String hashing decides set order, which TorchScript's saved code follows
# (torchscript.pt): fixed hash seed, which only a fresh interpreter can take.
if os.environ.get("PYTHONHASHSEED") != "0":
    os.environ["PYTHONHASHSEED"] = "0"
    os.execv(sys.executable, [sys.executable] + sys.argv)
# Set before torch is imported: one thread everywhere (sums in one order), and ATen's
# portable kernels instead of the AVX2 / AVX-512 ones picked per CPU (different vector widths sum
# in different orders, so the last bits would depend on the machine).
for variable in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
    os.environ.setdefault(variable, "1")
os.environ.setdefault("ATEN_CPU_CAPABILITY", "default")

GENERATORS = sorted(f[:-3] for f in os.listdir(HERE) if f.startswith("gen_") and f.endswith(".py"))

# Python modules every generator imports: (module, Debian package).
PYTHON_MODULES = [("numpy", "python3-numpy"), ("torch", "python3-torch"), ("torchvision", "python3-torchvision"),
                  ("PIL", "python3-pil")]


def data_files() -> list:
    """Input files some generators read: (path, what provides it, generators that need it)."""
    sys.path.insert(0, os.path.join(ROOT, "tools", "train"))
    import scenes  # its ITEM_FILES say where the two Fashion-MNIST splits live (FASHION_MNIST_DIR for train)

    train_dir, train_prefix = scenes.ITEM_FILES["train"]
    test_dir, test_prefix = scenes.ITEM_FILES["test"]
    weights = os.path.join(ROOT, "weights", "vit-scenes")
    files = [(os.path.join(train_dir, f"{train_prefix}-{kind}-ubyte.gz"), "dataset-fashion-mnist", {"gen_scenes"})
             for kind in ("images-idx3", "labels-idx1")]
    files += [(os.path.join(test_dir, f"{test_prefix}-{kind}-ubyte.gz"), "the git checkout (data/fashion-mnist)",
               {"gen_scenes", "gen_default_pair", "gen_adaptive"}) for kind in ("images-idx3", "labels-idx1")]
    files += [(os.path.join(weights, name), "the git checkout (weights/vit-scenes)", {"gen_default_pair", "gen_adaptive"})
              for name in ("model.safetensors", "config.json")]
    files += [(os.path.join(weights, "adaptive-thresholds.json"), "the git checkout (weights/vit-scenes)", {"gen_adaptive"})]
    return files


def missing_prerequisites(wanted: list) -> list:
    """[(Debian package or source, what is missing)] for the generators in `wanted`."""
    missing = []
    for module, package in PYTHON_MODULES:
        try:
            importlib.import_module(module)
        except ImportError:
            missing.append((package, f"Python module {module}"))
    if any(package == "python3-numpy" for package, _ in missing):
        return missing  # data_files() needs numpy (tools/train/scenes.py)
    for path, source, needed_by in data_files():
        if needed_by & set(wanted) and not os.path.isfile(path):
            missing.append((source, path))
    return missing


def prerequisites_problem(wanted: list) -> str | None:
    """One line naming every missing package or file (instead of a traceback halfway through), or None."""
    missing = missing_prerequisites(wanted)
    if not missing:
        return None
    listed = ", ".join(f"{source} ({what})" for source, what in missing)
    debian = sorted({source for source, _ in missing if not source.startswith("the git checkout")})
    hint = f"; run: apt-get install {' '.join(debian)}" if debian else ""
    return f"goldens: missing {listed}{hint}"


def make_deterministic() -> None:
    import torch

    torch.set_num_threads(1)
    torch.set_num_interop_threads(1)
    torch.use_deterministic_algorithms(True)
    torch.backends.mkldnn.enabled = False  # oneDNN picks kernels by CPU; ATen's conv + BLAS does not


def seed_everything() -> None:
    """Same seeds before every generator, so a file does not depend on which generators ran before it."""
    import numpy as np
    import torch

    random.seed(0)
    np.random.seed(0)
    torch.manual_seed(0)


def run_generators(wanted: list) -> None:
    sys.path.insert(0, HERE)
    for name in wanted:
        module = importlib.import_module(name)
        print(f"{module.__name__}: ", end="", flush=True)
        seed_everything()
        written = module.main()
        print(", ".join(os.path.basename(p) for p in (written or [])), flush=True)


def loaded_blas() -> str:
    """The BLAS library torch uses (Linux: read from this process's memory map), which sets float rounding."""
    try:
        with open("/proc/self/maps") as f:
            paths = {line.split()[-1] for line in f if ".so" in line}
    except OSError:
        return "unknown"
    blas = sorted(p for p in paths if "blas" in os.path.basename(p).lower() or "blis" in os.path.basename(p).lower())
    return ", ".join(os.path.realpath(p) for p in blas) or "none found"


def setup_line() -> str:
    """What decides the last float bits: torch's version, its BLAS, its kernel set."""
    import torch

    return f"torch {torch.__version__}, BLAS {loaded_blas()}, ATEN_CPU_CAPABILITY={os.environ['ATEN_CPU_CAPABILITY']}"


def check(wanted: list, partial: bool) -> int:
    """Generates into a temporary folder and compares with test/fixtures/; returns the exit status."""
    import common
    import compare

    out = common.FIXTURES
    if os.path.realpath(out) == os.path.realpath(common.COMMITTED_FIXTURES):
        raise SystemExit("goldens --check: the output folder is test/fixtures itself")
    run_generators(wanted)
    skipped = dict(common.SKIPPED)
    results = compare.compare_folders(out, common.COMMITTED_FIXTURES, skipped)
    if partial:  # only the files these generators wrote
        written = compare.relative_files(out)
        results = [r for r in results if r.path in written or r.path in skipped]
    print()
    print(compare.format_report(results))
    print(compare.summary(results))
    print(setup_line())
    if all(r.ok for r in results):
        shutil.rmtree(out)
        return 0
    print(f"goldens --check: FAILED; the regenerated files are kept in {out}", file=sys.stderr)
    return 1


def main(argv: list) -> int:
    checking = "--check" in argv
    names = [a for a in argv if a != "--check"]
    unknown = [a for a in names if a.startswith("-") or ("gen_" + a.removeprefix("gen_")) not in GENERATORS]
    if unknown:
        print(f"goldens: unknown argument {unknown[0]!r}; generators: {' '.join(GENERATORS)}", file=sys.stderr)
        return 2
    wanted = ["gen_" + a.removeprefix("gen_") for a in names] or GENERATORS
    if checking:  # before anything imports common.py, which reads it once
        os.environ["PAPR_GOLDENS_OUT"] = tempfile.mkdtemp(prefix="papr-goldens-")
    problem = prerequisites_problem(wanted)
    if problem:
        if checking:
            os.rmdir(os.environ["PAPR_GOLDENS_OUT"])
        print(problem, file=sys.stderr)
        return 2
    make_deterministic()
    if not checking:
        run_generators(wanted)
        return 0
    return check(wanted, partial=bool(names))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
