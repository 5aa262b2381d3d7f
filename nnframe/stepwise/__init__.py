"""The course notebooks' functions, exactly, in the course's layout: one module per notebook.

Names, signatures, return values and caches are the course's, and so is its layout:
examples are columns, ``X.shape == (n_x, m)``, ``Y.shape == (1, m)``,
``b.shape == (n_l, 1)``. The arithmetic is :mod:`nnframe.functional`, the code the layer
classes run, so these modules are the course's layout over the framework, not a second
implementation. ``docs/course.md`` maps each function to its framework object.

Only the initialisers (and the training functions, through them) touch numpy's global
random state, with the course's ``np.random.seed`` calls, so that the notebook's printed
numbers come out again; every other function leaves it alone.

The modules, and what each reproduces:

- ``deep_network_activations``: the first cells of "Building your Deep Neural Network:
  Step by Step": ``sigmoid``, ``relu`` and their backward steps, with caches.
- ``deep_network``: the rest of that notebook: initialisation, linear and
  linear-activation forward and backward, the L-layer model, the cost, the update.
- ``deep_network_application``: its companion, "Deep Neural Network for Image
  Classification: Application": ``two_layer_model``, ``L_layer_model`` and ``predict``.
- ``convolution``: "Convolutional Model: step by step", in that notebook's notation
  (examples first, channels LAST: ``A_prev.shape == (m, n_H_prev, n_W_prev, n_C_prev)``,
  ``W.shape == (f, f, n_C_prev, n_C)``): ``zero_pad``, ``conv_single_step``,
  ``conv_forward``, ``pool_forward``, ``conv_backward``, ``create_mask_from_window``,
  ``distribute_value``, ``pool_backward``, in the notebook's loops.
- ``bridge``: no notebook; ``to_sequential`` and ``from_sequential`` move the course's
  ``parameters`` dictionary into an ``nnframe.Sequential`` and back.

The next notebooks join as sibling modules named after them, each importing only the
earlier ones and ``nnframe``, as ``convolution`` did: "Building your Recurrent Neural
Network: Step by Step" as ``recurrent`` (``rnn_forward``,
``lstm_forward``, ...); a module past 600 lines splits as ``deep_network`` did. This
package re-exports every public name of its modules, except a name two notebooks use for
different functions (the recurrent notebook's ``sigmoid`` keeps no cache): that one stays
in its module (``stepwise.recurrent.sigmoid``).
"""

from nnframe.stepwise.bridge import from_sequential, to_sequential
from nnframe.stepwise.convolution import (
    conv_backward,
    conv_forward,
    conv_single_step,
    create_mask_from_window,
    distribute_value,
    pool_backward,
    pool_forward,
    zero_pad,
)
from nnframe.stepwise.deep_network import Cache as Cache
from nnframe.stepwise.deep_network import (
    L_model_backward,
    L_model_forward,
    compute_cost,
    initialize_parameters,
    initialize_parameters_deep,
    linear_activation_backward,
    linear_activation_forward,
    linear_backward,
    linear_forward,
    update_parameters,
)
from nnframe.stepwise.deep_network import LinearCache as LinearCache
from nnframe.stepwise.deep_network_activations import (
    relu,
    relu_backward,
    sigmoid,
    sigmoid_backward,
)
from nnframe.stepwise.deep_network_application import L_layer_model, predict, two_layer_model

__all__ = [
    "L_layer_model",
    "L_model_backward",
    "L_model_forward",
    "compute_cost",
    "conv_backward",
    "conv_forward",
    "conv_single_step",
    "create_mask_from_window",
    "distribute_value",
    "from_sequential",
    "initialize_parameters",
    "initialize_parameters_deep",
    "linear_activation_backward",
    "linear_activation_forward",
    "linear_backward",
    "linear_forward",
    "pool_backward",
    "pool_forward",
    "predict",
    "relu",
    "relu_backward",
    "sigmoid",
    "sigmoid_backward",
    "to_sequential",
    "two_layer_model",
    "update_parameters",
    "zero_pad",
]
