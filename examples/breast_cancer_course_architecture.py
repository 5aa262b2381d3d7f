"""The course's L-layer network, [n_x, 20, 7, 5, 1], on the breast cancer data set, three ways.

1. The course's own functions (``nnframe.stepwise.L_layer_model``): full-batch gradient
   descent, in the course's one-example-per-column layout.
2. The same loop with framework objects (``Sequential``, ``BCELoss``, ``SGD``), started from
   the same weights as the course's loop, checked to compute the same costs.
3. A ``Trainer``: shuffled mini-batches, Adam, a validation split and early stopping.

    python examples/breast_cancer_course_architecture.py
    python examples/breast_cancer_course_architecture.py --iterations 200 --epochs 5  # quick
"""

# The course's names (X_train, Y_train, AL) are kept where the course's functions are used.
# ruff: noqa: N806

from __future__ import annotations

import argparse
import time

import numpy as np

import nnframe as nf
from nnframe import stepwise
from nnframe.training import EarlyStopping


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--iterations", type=int, default=2500,
        help="gradient-descent iterations for parts 1 and 2 (default 2500, the course's)",
    )
    parser.add_argument("--learning-rate", type=float, default=0.0075, help="default 0.0075")
    parser.add_argument("--epochs", type=int, default=100, help="Trainer epochs, at most")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--plot", metavar="PATH", help="save the Trainer's learning curves")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    started = time.perf_counter()
    data = nf.datasets.load("breast_cancer", rng=args.seed, dtype=np.float64)
    print(data)

    # The course's layout: one example per column.
    X_train, Y_train = data.x_train.T, data.y_train[np.newaxis, :]
    X_test, Y_test = data.x_test.T, data.y_test[np.newaxis, :]
    layers_dims = [X_train.shape[0], 20, 7, 5, 1]
    print(f"layers_dims = {layers_dims}")

    # 1. The course's functions.
    parameters, costs = stepwise.L_layer_model(
        X_train, Y_train, layers_dims,
        learning_rate=args.learning_rate, num_iterations=args.iterations,
    )
    for i, cost in enumerate(costs):
        if i % 5 == 0 or i == len(costs) - 1:
            print(f"  cost after iteration {100 * i}: {cost:.4f}")
    course_train = np.mean(stepwise.predict(X_train, parameters) == Y_train)
    course_test = np.mean(stepwise.predict(X_test, parameters) == Y_test)
    print(f"1. stepwise.L_layer_model: train accuracy {course_train:.4f}, "
          f"test accuracy {course_test:.4f}")

    # 2. The same loop with framework objects, from the same starting weights.
    model = nf.mlp(layers_dims, output_activation="sigmoid", rng=args.seed, dtype=np.float64)
    course_parameters = stepwise.from_sequential(model)  # a copy of the model's weights
    loss = nf.BCELoss()
    optimizer = nf.SGD(model.parameters(), lr=args.learning_rate)
    largest_difference = 0.0
    for _ in range(args.iterations):
        AL, caches = stepwise.L_model_forward(X_train, course_parameters)
        course_cost = stepwise.compute_cost(AL, Y_train)
        grads = stepwise.L_model_backward(AL, Y_train, caches)
        course_parameters = stepwise.update_parameters(
            course_parameters, grads, args.learning_rate
        )

        cost = loss(model(data.x_train), data.y_train)
        optimizer.zero_grad()
        model.backward(loss.backward())
        optimizer.step()
        largest_difference = max(largest_difference, abs(cost - course_cost))
    with nf.no_grad():
        framework_test = np.mean((model(data.x_test)[:, 0] > 0.5) == data.y_test)
    print(f"2. Sequential + BCELoss + SGD: test accuracy {framework_test:.4f}; "
          f"largest cost difference from the course's loop: {largest_difference:.1e}")

    # 3. The Trainer: mini-batches, Adam, validation, early stopping.
    model = nf.mlp(layers_dims, output_activation="sigmoid", rng=args.seed)
    trainer = nf.Trainer(
        model, nf.BCELoss(), nf.Adam(model.parameters(), lr=1e-3), metrics=["accuracy"]
    )
    history = trainer.fit(
        data.x_train, data.y_train, epochs=args.epochs, batch_size=32,
        validation_split=0.2, callbacks=[EarlyStopping(monitor="val_loss", patience=10)],
        rng=args.seed, progress=False,
    )
    results = trainer.evaluate(data.x_test, data.y_test)
    print(f"3. Trainer (Adam, batches of 32, {len(history.epoch)} epochs): "
          f"test accuracy {results['accuracy']:.4f} (test loss {results['loss']:.4f})")
    if args.plot:
        history.plot(args.plot)
        print(f"learning curves saved to {args.plot}")
    print(f"wall time: {time.perf_counter() - started:.1f} s")


if __name__ == "__main__":
    main()
