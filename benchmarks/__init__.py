"""Benchmarks for nnframe: training-step speed against PyTorch, numpy and the machine's GEMM rate.

Run ``python -m benchmarks`` from the repository root (``python -m benchmarks --help`` for
the options). The package is split by job:

``configs``          what is measured: architectures, batch sizes, dtypes, optimizers,
                     initial weights, data and the FLOP count of a step
``numpy_reference``  the hand-written, careful numpy training step
``contenders``       builds one training-step function per contender (nnframe: the
                     hand-written loop; trainer: Trainer.train_on_batch; torch; numpy)
``worker``           the child process: one timed measurement (or the GEMM rate, or a probe)
``machine``          the description of the machine and the software
``runner``           the parent process: command line, rounds, one child per measurement
``report``           medians, spreads and ratios; the Markdown and JSON output
``conv_configs``     the convolution benchmark's conv nets (lenet, cifar-small, digits-cnn),
                     their data, PyTorch-default weights, products and memory bound
``conv_reference``   the hand-written, careful numpy conv-net training step
``conv_contenders``  the convolution contenders (nnframe, trainer, torch, numpy)
``conv_report``      the convolution tables (``--suite conv``, OUTPUT-conv.md/.json)

``python -m benchmarks.gradcheck_cost`` times the gradient checker and
``python -m benchmarks.torch_parity`` checks that nnframe and PyTorch train identically;
``python -m benchmarks.training_figures`` gives the accuracy and wall-time figures the
docs quote.
Nothing here is imported by nnframe, and PyTorch is optional (``pip install -e ".[bench]"``).
"""
