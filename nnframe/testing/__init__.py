"""The contract and gradient suite for layers and losses, yours and nnframe's own.

``check_layer(layer)`` and ``check_loss(loss)`` run every check of the contract with
hypothesis; ``parametrize_with_checks`` turns them into pytest cases; each
``check_<property>`` function runs one check on one input; ``strategies`` holds the
hypothesis strategies to compose in your own tests. Needs hypothesis (and pytest for
``parametrize_with_checks``), the test dependencies.

Examples
--------
>>> import nnframe as nf
>>> from nnframe.testing import check_layer
>>> check_layer(nf.Linear(3, 2, rng=0), max_examples=5)
"""

from nnframe.testing import strategies
from nnframe.testing._common import LayerLike, layer_factory
from nnframe.testing.checks import (
    check_backward_shape_and_dtype,
    check_backward_without_forward_raises,
    check_batch_independence,
    check_cache_per_instance,
    check_forward_shape_and_dtype,
    check_gradients,
    check_gradients_accumulate,
    check_input_unmodified,
    check_no_grad_leaves_no_cache,
)
from nnframe.testing.loss_checks import (
    LossLike,
    check_loss_backward_without_forward_raises,
    check_loss_gradient_shape_and_dtype,
    check_loss_gradients,
    check_loss_input_unmodified,
    check_loss_no_grad_leaves_no_cache,
    check_loss_reduction,
    check_loss_value,
    loss_factory,
)
from nnframe.testing.state_checks import (
    check_astype,
    check_parameter_discovery,
    check_state_dict_round_trip,
    check_train_eval_modes,
)
from nnframe.testing.strategies import infer_input_shape
from nnframe.testing.suite import (
    LAYER_CHECKS,
    LOSS_CHECKS,
    LayerCheck,
    LossCheck,
    check_layer,
    check_loss,
    layer_checks,
    parametrize_with_checks,
)

__all__ = [
    "LAYER_CHECKS",
    "LOSS_CHECKS",
    "LayerCheck",
    "LayerLike",
    "LossCheck",
    "LossLike",
    "check_astype",
    "check_backward_shape_and_dtype",
    "check_backward_without_forward_raises",
    "check_batch_independence",
    "check_cache_per_instance",
    "check_forward_shape_and_dtype",
    "check_gradients",
    "check_gradients_accumulate",
    "check_input_unmodified",
    "check_layer",
    "check_loss",
    "check_loss_backward_without_forward_raises",
    "check_loss_gradient_shape_and_dtype",
    "check_loss_gradients",
    "check_loss_input_unmodified",
    "check_loss_no_grad_leaves_no_cache",
    "check_loss_reduction",
    "check_loss_value",
    "check_no_grad_leaves_no_cache",
    "check_parameter_discovery",
    "check_state_dict_round_trip",
    "check_train_eval_modes",
    "infer_input_shape",
    "layer_checks",
    "layer_factory",
    "loss_factory",
    "parametrize_with_checks",
    "strategies",
]
