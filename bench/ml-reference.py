"""Centralised reference for the digits MLP: scikit-learn's MLPClassifier on the same split and
settings as test/edge-agent/training/digits.test.ts. Run by bench/ml.ts with Debian's
python3-sklearn (/usr/bin/python3); reads the split from the JSON file given as argv[1] and prints
one JSON line of accuracies."""
import gzip
import json
import sys

import numpy as np
from sklearn.neural_network import MLPClassifier

spec = json.load(open(sys.argv[1]))
rows = np.loadtxt(gzip.open(spec["digits"], "rt"), delimiter=",")
x, y = rows[:, :64] / 16.0, rows[:, 64].astype(int)
test, train = np.array(spec["test"]), np.array(spec["train"])
out = {}
for run in spec["runs"]:
    scores = []
    for seed in range(spec["seeds"]):
        clf = MLPClassifier(
            hidden_layer_sizes=tuple(run["hidden"]),
            solver=run["optimizer"],
            learning_rate_init=run["lr"],
            momentum=0.9,
            nesterovs_momentum=False,
            batch_size=32,
            max_iter=run["epochs"],
            random_state=seed,
        )
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # ConvergenceWarning: the epoch budget is the point
            clf.fit(x[train], y[train])
        scores.append(float(clf.score(x[test], y[test])))
    out[run["optimizer"]] = {"mean": float(np.mean(scores)), "min": float(np.min(scores)), "max": float(np.max(scores))}
print(json.dumps(out))
