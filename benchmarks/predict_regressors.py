"""Is the latency predictor's miss the regressor's? Refit the saved profile's kept samples with
other scikit-learn regressors (no new measuring) and predict the models of a
``benchmarks/predict_accuracy.py`` JSON file again, against its measured medians.

    python benchmarks/predict_regressors.py docs/results/data/predict_litert_d.json

Prints RMSPE, the share within ±5 % and ±10 %, and the mean signed error of the models under
1 ms and of all, per regressor. A benchmark prints; it never asserts.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import predict_accuracy  # the benchmark's model builders


def candidates() -> dict[str, Callable[[int], Any]]:
    from sklearn.ensemble import (
        ExtraTreesRegressor,
        GradientBoostingRegressor,
        HistGradientBoostingRegressor,
        RandomForestRegressor,
    )

    return {
        "random forest, min 3 per leaf": lambda seed: RandomForestRegressor(
            n_estimators=120, min_samples_leaf=3, max_features=0.6, random_state=seed),
        "extra trees": lambda seed: ExtraTreesRegressor(
            n_estimators=200, max_features=0.8, random_state=seed),
        "gradient boosting": lambda seed: GradientBoostingRegressor(
            n_estimators=300, max_depth=3, learning_rate=0.05, subsample=0.8,
            random_state=seed),
        "histogram gradient boosting": lambda seed: HistGradientBoostingRegressor(
            max_iter=300, learning_rate=0.05, min_samples_leaf=5, random_state=seed),
    }


def score(label: str, profile: Any, models: list[tuple[dict[str, Any], Any]]) -> None:
    from convcost.analysis.predict import predict_report

    errors = [predict_report(report, profile).predicted_ms / result["measured_ms"] - 1
              for result, report in models]
    small = [e for (result, _), e in zip(models, errors) if result["measured_ms"] < 1.0]
    n = len(errors)
    print(f"{label:32} RMSPE {math.sqrt(sum(e * e for e in errors) / n):6.1%}  "
          f"±5% {sum(abs(e) <= .05 for e in errors) / n:4.0%}  "
          f"±10% {sum(abs(e) <= .10 for e in errors) / n:4.0%}  "
          f"mean error < 1 ms {sum(small) / max(1, len(small)):+.1%}  "
          f"all {sum(errors) / n:+.1%}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("results", type=Path, help="a predict_accuracy.py --json file")
    parser.add_argument("--profile", default=None)
    args = parser.parse_args()

    import convcost
    from convcost.analysis import latency
    from convcost.count.walker import analyze
    from convcost.measure.predicting import load_profile

    data = json.loads(args.results.read_text())
    profile = load_profile(data["runtime"], data["threads"], data["batch"], args.profile)
    with convcost.shape_only():
        models = [(r, analyze(predict_accuracy.build(r["model"], r["spec"])))
                  for r in data["results"]]
    score("saved profile (random forest)", profile, models)
    default = latency.forest
    try:
        for label, make in candidates().items():
            latency.forest = make
            score(label, latency.refit(profile), models)
    finally:
        latency.forest = default


if __name__ == "__main__":
    main()
