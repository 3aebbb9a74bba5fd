"""How far the lab's own E4 code lands from run to run when it trains without a seed.

Usage: .venv/bin/python bench/handout_spread.py [--runs 30]

Trains the regressor of practica1_lab_as_written's ``# E4`` cell as written
(1,000 seeded pairs, 70/30 split, Dense(64, relu) then Dense(1), adam, mse,
20 epochs of 32 with validation_split=0.2; no Keras seed, as students run it)
``--runs`` times and prints each MAE on 4,000 fresh pairs, then the smallest,
the median and the largest. practica1's E4 band gives full marks to all of
them: the spread is the handout's, not the student's.
"""
from __future__ import annotations

import argparse

import numpy as np


def lab_regressor_mae(fresh: np.ndarray) -> float:
    import keras
    from sklearn.model_selection import train_test_split
    np.random.seed(42)
    x_1, x_2 = np.random.rand(1000), np.random.rand(1000)
    x_train, _, y_train, _ = train_test_split(np.column_stack((x_1, x_2)), x_1 + x_2, test_size=0.3,
                                              random_state=42)
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(64, activation="relu"), keras.layers.Dense(1)])
    model.compile(optimizer="adam", loss="mse", metrics=["mae"])
    model.fit(x_train, y_train, epochs=20, batch_size=32, validation_split=0.2, verbose=0)
    return float(np.mean(np.abs(model.predict(fresh, verbose=0)[:, 0] - fresh.sum(axis=1))))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=30)
    runs = parser.parse_args().runs
    fresh = np.random.default_rng(7).random((4000, 2))
    maes = []
    for run in range(runs):
        maes.append(lab_regressor_mae(fresh))
        print(f"run {run + 1}: mae {maes[-1]:.4f}", flush=True)
    print(f"{runs} runs: mae min {min(maes):.4f}, median {np.median(maes):.4f}, max {max(maes):.4f}")


if __name__ == "__main__":
    main()
