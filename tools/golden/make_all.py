"""Regenerates every golden fixture: /usr/bin/python3 tools/golden/make_all.py [module ...]"""
import importlib
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
torch.set_num_threads(1)
torch.use_deterministic_algorithms(True)

GENERATORS = sorted(
    f[:-3] for f in os.listdir(os.path.dirname(os.path.abspath(__file__))) if f.startswith("gen_") and f.endswith(".py")
)

if __name__ == "__main__":
    wanted = sys.argv[1:] or GENERATORS
    for name in wanted:
        module = importlib.import_module(name if name.startswith("gen_") else "gen_" + name)
        print(f"{module.__name__}: ", end="", flush=True)
        written = module.main()
        print(", ".join(os.path.basename(p) for p in (written or [])))
