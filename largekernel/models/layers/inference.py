"""Helpers of the eager-inference fast paths: FFNs streamed through the cache, SW's input-order deploy form."""
import contextlib
import weakref

import torch
from torch import nn
from torch.nn.modules import module as torch_module  # its global hook registries

# Eager CPU inference streams an FFN through the cache in chunks of STREAM_CHUNK_BYTES of hidden activation once
# that activation would reach STREAM_MIN_BYTES (``can_stream``). Stage 1 of UniRepLKNet-T at batch 8 holds 32 MB
# there, as much as this machine's last-level cache, and each pass of the plain path over it (the first linear's
# bias copy and product, GELU, GRN's squares and scale, the second linear) ran at memory speed; streamed, the deploy
# forms ran 1.04x (UniRepLKNet-T, SW-tiny) and 1.17x (SLaK-T) faster (``benchmark.py --stream-ab``, batch 8).
STREAM_MIN_BYTES = 16 * 2 ** 20
STREAM_CHUNK_BYTES = 2 * 2 ** 20


def has_forward_hooks(*modules):
    """Whether a forward (pre-)hook would see any of ``modules`` called: their own or global ones. A fast path that
    bypasses those modules' ``forward`` (e.g. ``largekernel.utils.count_macs`` counts through hooks) must not run
    then."""
    if torch_module._global_forward_hooks or torch_module._global_forward_pre_hooks:
        return True
    return any(m._forward_hooks or m._forward_pre_hooks for m in modules if m is not None)


def can_stream(x, fc1, act, *modules):
    """Whether eager inference may stream the FFN ``fc1`` (``nn.Linear``) -> ``act`` (an exact ``nn.GELU``) -> ...
    over ``x``: gradients off, float32 or bfloat16 on CPU without autocast, nothing traced, exported or compiled, no
    forward hooks on ``fc1``, ``act`` and the other ``modules`` the streamed path bypasses, and a hidden activation of
    at least ``STREAM_MIN_BYTES``."""
    hidden_bytes = x.numel() // fc1.in_features * fc1.out_features * x.element_size()
    return (not torch.is_grad_enabled() and x.device.type == 'cpu' and x.dtype in (torch.float32, torch.bfloat16)
            and not torch.is_autocast_enabled('cpu') and not torch.jit.is_tracing()
            and not torch.onnx.is_in_onnx_export() and not torch.compiler.is_compiling() and type(act) is nn.GELU
            and hidden_bytes >= STREAM_MIN_BYTES and not has_forward_hooks(fc1, act, *modules))


def mlp(x, fc1, act, fc2):
    """``fc2(act(fc1(x)))`` of channels-last ``x``; streamed (``streamed_mlp``) where ``can_stream`` allows."""
    if can_stream(x, fc1, act, fc2):
        return streamed_mlp(x, fc1, act, fc2)
    return fc2(act(fc1(x)))


def streamed_mlp(x, fc1, act, fc2):
    """``fc2(act(fc1(x)))`` of channels-last ``x`` (..., C), ``act`` an ``nn.GELU``, computed in chunks of rows
    whose hidden activation (at most ``STREAM_CHUNK_BYTES``) stays in the cache and is never materialised whole.
    The same operations as the plain modules, row by row; eager inference only (see ``can_stream``)."""
    rows = x.reshape(-1, x.shape[-1])
    step = max(1, STREAM_CHUNK_BYTES // (fc1.out_features * x.element_size()))
    out = x.new_empty(rows.shape[0], fc2.out_features)
    hidden = x.new_empty(min(step, rows.shape[0]), fc1.out_features)
    for i in range(0, rows.shape[0], step):
        h = linear_into(hidden[:min(step, rows.shape[0] - i)], rows[i:i + step], fc1)
        torch.ops.aten.gelu_(h, approximate=act.approximate)
        linear_into(out[i:i + step], h, fc2)
    return out.view(*x.shape[:-1], fc2.out_features)


def linear_into(out, x, linear):
    """``linear(x)`` of 2-D ``x``, written into ``out``."""
    if linear.bias is None:
        return torch.mm(x, linear.weight.t(), out=out)
    return torch.addmm(linear.bias, x, linear.weight.t(), out=out)


def inference_cache(module, name, sources, compute):
    """``compute()``, kept in ``module.__dict__[name]`` while gradients are off and nothing is compiled; recomputed
    when any of the ``sources`` tensors is replaced or changed in place (an optimizer step, ``load_state_dict``),
    which the key (identity, storage, version counter, dtype, device) detects. Under ``torch.jit.trace`` (and the
    TorchScript-based ONNX export) the result is computed outside the trace, so it enters the graph as a constant
    (an ONNX convolution needs a kernel of known shape)."""
    if torch.jit.is_tracing():
        with _tracing_paused(), torch.no_grad():
            return inference_cache(module, name, sources, compute)
    if torch.is_grad_enabled() or torch.compiler.is_compiling():  # training / compiled: the computation in-graph
        return compute()
    key = tuple((id(t), t.data_ptr(), t._version, t.dtype, t.device) for t in sources)
    cache = module.__dict__.get(name)
    if cache is None or cache[0] != key or any(ref() is not t for ref, t in zip(cache[1], sources)):
        cache = module.__dict__[name] = (key, [weakref.ref(t) for t in sources], compute())
    return cache[2]


@contextlib.contextmanager
def _tracing_paused():
    """Run the body untraced (the tracer's own switch): its results are constants of the trace."""
    state = torch._C._get_tracing_state()
    torch._C._set_tracing_state(None)
    try:
        yield
    finally:
        torch._C._set_tracing_state(state)
