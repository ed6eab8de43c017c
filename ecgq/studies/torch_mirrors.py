"""PyTorch mirrors of ecgq's students: the same layers, widths, kernels, strides, padding, BatchNorm,
pooling and parameter count, for the ``bench_train_step`` study to time against.

Why a mirror and not an import of some PyTorch model zoo: the comparison means something only if
both sides compute the same function, so each mirror is written from the Flax module it mirrors and
:func:`load_flax_variables` copies ecgq's weights into it; the tests then check that both give the
same logits and have the same parameter count. The mirrors are channels-first ``(batch, leads,
time)``, PyTorch's native layout (the flatten of the autoencoder goes through channels-last so that
its dense layer has ecgq's weight order).

Layout of the translation (Flax -> PyTorch):

* ``nn.Conv(padding="SAME")``: XLA pads ``total = max((out - 1) * stride + k - in, 0)`` with
  ``total // 2`` in front; PyTorch's own ``padding`` is symmetric, so an asymmetric case is an
  explicit ``F.pad`` first. ``max_pool(padding="SAME")`` pads with ``-inf`` the same way.
* ``nn.BatchNorm(momentum=0.9)`` keeps ``0.9 * old + 0.1 * batch``: PyTorch ``momentum=0.1``,
  ``eps=1e-5`` both sides.
* ``nn.gelu`` is the tanh approximation: ``F.gelu(approximate="tanh")``.
* The quantum layer: ``circuit_expvals`` is a batched statevector simulation of the default circuit
  (RY angle encoding, ``ryrz_ring`` block, ``<Z>`` of every wire), written gate by gate with real
  arithmetic (real and imaginary parts apart) so that autograd and ``torch.compile`` handle it.

torch is an optional dependency (the ``test`` and ``torch`` extras): nothing here imports it until a
mirror is built, so discovering the studies never pays for it, and :func:`missing` says why a model
cannot be mirrored (torch absent, or a circuit/model configuration the mirror does not cover).
"""

from __future__ import annotations

import functools
import importlib.util
import itertools
import math
import types

import numpy as np

MIRRORED = ("CNN1D", "ResNet1D", "AEVQC")  # Flax classes (ae_vqc and ae_mlp are both AEVQC)
# The one circuit the torch simulation implements (ecgq.quantum's defaults for ae_vqc).
CIRCUIT = {"encoding": "angle", "rotation": "Y", "block": "ryrz_ring", "measurement": "expval", "wires": None,
           "input_scaling": False, "shots": 0, "depolarizing": 0.0, "amplitude_damping": 0.0, "dtype": "float32"}


def torch_available() -> bool:
    return importlib.util.find_spec("torch") is not None


def missing(flax_module) -> str:
    """Why ``flax_module`` (a built ecgq student) has no PyTorch mirror; '' when it has one."""
    if not torch_available():
        return "torch is not installed (pip install -e '.[torch]')"
    kind = type(flax_module).__name__
    if kind not in MIRRORED:
        return f"no PyTorch mirror of {kind} (mirrored: {', '.join(MIRRORED)})"
    if kind == "AEVQC":
        core = flax_module.core
        if type(core).__name__ == "VQC":
            off = [f"{k}={getattr(core, k)!r}" for k, v in CIRCUIT.items() if getattr(core, k) != v]
            if off:
                return "the torch circuit simulates the default circuit only (" + ", ".join(off) + ")"
        elif type(core).__name__ != "MatchedDense":
            return f"no PyTorch mirror of the core {type(core).__name__}"
        if getattr(flax_module, "pooling", "flatten") not in ("global", "flatten"):
            return f"no PyTorch mirror of encoder pooling {flax_module.pooling!r}"
    return ""


def same_padding(length: int, kernel: int, stride: int) -> tuple[int, int]:
    """XLA's SAME padding ``(front, back)`` of one spatial axis (what Flax convs and pools use)."""
    out = -(-length // stride)
    total = max((out - 1) * stride + kernel - length, 0)
    return total // 2, total - total // 2


def conv_out_length(length: int, stride: int) -> int:
    return -(-length // stride)


@functools.cache
def _lib() -> types.SimpleNamespace:
    """torch and the mirror classes, defined on first use (torch is imported only here)."""
    import torch
    import torch.nn.functional as F
    from torch import nn

    def expvals(angles, weights, tables):
        """:func:`circuit_expvals` (defined here so that torch.compile traces it without a break)."""
        batch, n = angles.shape
        perm, signs = tables
        half = angles / 2
        cos, sin = torch.cos(half), torch.sin(half)
        re = torch.ones(batch, 1, dtype=angles.dtype, device=angles.device)
        for wire in range(n):  # |psi> = (x) [cos(a/2), sin(a/2)], wire 0 the most significant bit
            re = (re[:, :, None] * torch.stack([cos[:, wire], sin[:, wire]], -1)[:, None, :]).reshape(batch, -1)
        im = torch.zeros_like(re)
        half_w = weights / 2
        cos_w, sin_w = torch.cos(half_w), torch.sin(half_w)
        for layer in range(weights.shape[0]):
            for wire in range(n):
                shape = (batch, 2 ** wire, 2, 2 ** (n - 1 - wire))
                re, im = re.reshape(shape), im.reshape(shape)
                c, s = cos_w[layer, wire, 0], sin_w[layer, wire, 0]  # RY = [[c, -s], [s, c]]
                re = torch.stack([c * re[:, :, 0] - s * re[:, :, 1], s * re[:, :, 0] + c * re[:, :, 1]], 2)
                im = torch.stack([c * im[:, :, 0] - s * im[:, :, 1], s * im[:, :, 0] + c * im[:, :, 1]], 2)
                c, s = cos_w[layer, wire, 1], sin_w[layer, wire, 1]  # RZ = diag(c - i s, c + i s)
                re0, re1, im0, im1 = re[:, :, 0], re[:, :, 1], im[:, :, 0], im[:, :, 1]
                re = torch.stack([c * re0 + s * im0, c * re1 - s * im1], 2).reshape(batch, -1)
                im = torch.stack([c * im0 - s * re0, c * im1 + s * re1], 2).reshape(batch, -1)
            re, im = re[:, perm.to(re.device)], im[:, perm.to(im.device)]
        return (re * re + im * im) @ signs.to(re.device, re.dtype)

    class SameConv1d(nn.Module):
        """Conv1d with Flax's SAME padding for an input of ``length`` samples."""

        def __init__(self, cin, cout, kernel, stride=1, bias=True, *, length):
            super().__init__()
            self.pad = same_padding(length, kernel, stride)
            symmetric = self.pad[0] == self.pad[1]
            self.conv = nn.Conv1d(cin, cout, kernel, stride, padding=self.pad[0] if symmetric else 0, bias=bias)
            self.explicit = not symmetric

        def forward(self, x):
            return self.conv(F.pad(x, self.pad) if self.explicit else x)

    class SameMaxPool1d(nn.Module):
        """max_pool with Flax's SAME padding (``-inf``) for an input of ``length`` samples."""

        def __init__(self, window, stride, *, length):
            super().__init__()
            self.pad = same_padding(length, window, stride)
            self.pool = nn.MaxPool1d(window, stride)

        def forward(self, x):
            if any(self.pad):
                x = F.pad(x, self.pad, value=-math.inf)
            return self.pool(x)

    def batch_norm(width):
        return nn.BatchNorm1d(width, eps=1e-5, momentum=0.1)

    def with_rr(features, rr):
        return features if rr is None else torch.cat([features, rr.to(features.dtype)], dim=-1)

    class CNN1D(nn.Module):
        """Mirror of :class:`ecgq.models.cnn1d.CNN1D`."""

        def __init__(self, spec, n_outputs, leads, length, rr_dim=0):
            super().__init__()
            blocks, cin = [], leads
            for width, kernel in zip(spec.features, spec.kernel_sizes):
                layers = [SameConv1d(cin, width, kernel, bias=False, length=length), batch_norm(width), nn.ReLU()]
                if spec.pool_size > 1:
                    layers.append(SameMaxPool1d(spec.pool_size, spec.pool_size, length=length))
                    length = conv_out_length(length, spec.pool_size)
                blocks.append(nn.Sequential(*layers))
                cin = width
            self.blocks = nn.Sequential(*blocks)
            self.hidden = nn.Linear(cin + rr_dim, spec.hidden)
            self.dropout = nn.Dropout(spec.dropout)
            self.head = nn.Linear(spec.hidden, n_outputs)

        def forward(self, x, rr=None):
            h = with_rr(self.blocks(x).mean(dim=-1), rr)
            return self.head(self.dropout(F.relu(self.hidden(h))))

    class ResidualBlock(nn.Module):
        """Mirror of :class:`ecgq.models.resnet1d.ResidualBlock`."""

        def __init__(self, cin, width, stride, kernels, length):
            super().__init__()
            self.conv1 = SameConv1d(cin, width, kernels[0], stride, bias=False, length=length)
            self.bn1 = batch_norm(width)
            out = conv_out_length(length, stride)
            self.conv2 = SameConv1d(width, width, kernels[1], bias=False, length=out)
            self.bn2 = batch_norm(width)
            self.proj = None
            if stride != 1 or cin != width:
                self.proj = SameConv1d(cin, width, 1, stride, bias=False, length=length)
                self.proj_bn = batch_norm(width)

        def forward(self, x):
            y = self.bn2(self.conv2(F.relu(self.bn1(self.conv1(x)))))
            shortcut = x if self.proj is None else self.proj_bn(self.proj(x))
            return F.relu(y + shortcut)

    class ResNet1D(nn.Module):
        """Mirror of :class:`ecgq.models.resnet1d.ResNet1D`."""

        def __init__(self, spec, n_outputs, leads, length, rr_dim=0):
            super().__init__()
            self.stem = SameConv1d(leads, spec.stem_features, spec.stem_kernel, 2, bias=False, length=length)
            self.stem_bn = batch_norm(spec.stem_features)
            length = conv_out_length(length, 2)
            self.pool = SameMaxPool1d(3, 2, length=length)
            length = conv_out_length(length, 2)
            blocks, cin = [], spec.stem_features
            for width, n_blocks, stride in zip(spec.stage_features, spec.blocks_per_stage, spec.stage_strides):
                for i in range(n_blocks):
                    s = stride if i == 0 else 1
                    blocks.append(ResidualBlock(cin, width, s, tuple(spec.kernel_sizes), length))
                    length, cin = conv_out_length(length, s), width
            self.blocks = nn.Sequential(*blocks)
            self.dropout = nn.Dropout(spec.dropout)
            self.head = nn.Linear(2 * cin + rr_dim, n_outputs)

        def forward(self, x, rr=None):
            x = self.blocks(self.pool(F.relu(self.stem_bn(self.stem(x)))))
            pooled = with_rr(torch.cat([x.mean(dim=-1), x.amax(dim=-1)], dim=-1), rr)
            return self.head(self.dropout(pooled))

    class MatchedDense(nn.Module):
        """Mirror of :class:`ecgq.models.controls.MatchedDense` (``ae_mlp``'s stand-in for the circuit)."""

        def __init__(self, n_in, n_out, hidden):
            super().__init__()
            self.hidden, self.out = nn.Linear(n_in, hidden), nn.Linear(hidden, n_out)

        def forward(self, angles):
            return torch.tanh(self.out(torch.tanh(self.hidden(angles))))

    class Circuit(nn.Module):
        """The default VQC: ``quantum_weights`` ``(layers, qubits, 2)``, uniform in [-pi, pi]."""

        def __init__(self, n_qubits, n_layers):
            super().__init__()
            self.quantum_weights = nn.Parameter(torch.empty(n_layers, n_qubits, 2).uniform_(-math.pi, math.pi))
            # Plain constants, not buffers: torch.func.stack_module_state must not stack them.
            self.tables = circuit_tables(n_qubits)

        def forward(self, angles):
            return expvals(angles, self.quantum_weights, self.tables)

    class AEVQC(nn.Module):
        """Mirror of :class:`ecgq.models.ae_vqc.AEVQC` (``core``: the circuit, or ae_mlp's dense).

        The decoder is built (same parameters, frozen: ecgq's trainable mask never trains it) but
        not run, as in ecgq, where it does not touch the logits.
        """

        def __init__(self, spec, n_outputs, leads, length, core, latent, rr_dim=0):
            super().__init__()
            self.freeze_encoder, self.angle_scaling = bool(spec.freeze_encoder), spec.angle_scaling
            self.pooling = getattr(spec, "pooling", "flatten")
            features, k = tuple(spec.encoder_features), int(spec.kernel_size)
            convs, cin, t = [], leads, length
            for width in features:
                convs.append(SameConv1d(cin, width, k, 2, length=t))
                cin, t = width, conv_out_length(t, 2)
            self.encoder = nn.ModuleList(convs)
            self.to_latent = nn.Linear(2 * cin if self.pooling == "global" else t * cin, latent)
            widths = tuple(reversed(features))
            decoder = [nn.Linear(latent, t * widths[0])]
            decoder += [nn.ConvTranspose1d(a, b, k, 2) for a, b in itertools.pairwise(widths)]
            decoder.append(nn.ConvTranspose1d(widths[-1], leads, k, 2))
            self.decoder = nn.ModuleList(decoder).requires_grad_(False)
            self.rr_mixer = nn.Linear(latent + rr_dim, latent) if rr_dim else None
            self.core = core
            hidden, n_core = int(spec.readout_hidden), core_outputs(core)
            self.readout_hidden = nn.Linear(n_core, hidden) if hidden else None
            self.readout = nn.Linear(hidden or n_core, n_outputs)

        def forward(self, x, rr=None):
            for conv in self.encoder:
                x = F.gelu(conv(x), approximate="tanh")
            if self.pooling == "global":
                pooled = torch.cat([x.mean(dim=-1), x.amax(dim=-1)], dim=-1)
            else:
                pooled = x.transpose(1, 2).flatten(1)  # flatten (time, channel) as Flax does
            z = self.to_latent(pooled)
            if self.freeze_encoder:
                z = z.detach()
            if rr is not None:
                z = self.rr_mixer(with_rr(z, rr))
            angles = math.pi * torch.tanh(z) if self.angle_scaling == "pi_tanh" else z
            h = self.core(angles)
            if self.readout_hidden is not None:
                h = F.gelu(self.readout_hidden(h), approximate="tanh")
            return self.readout(h)

    def core_outputs(core):
        return core.quantum_weights.shape[1] if isinstance(core, Circuit) else core.out.out_features

    return types.SimpleNamespace(torch=torch, F=F, CNN1D=CNN1D, ResNet1D=ResNet1D, AEVQC=AEVQC,
                                 Circuit=Circuit, MatchedDense=MatchedDense, expvals=expvals)


def build(flax_module, input_shape=(256, 1), rr_dim: int = 0):
    """The PyTorch mirror of a built ecgq student for inputs ``(time, leads)``.

    Sized from the Flax module's own fields (widths, kernels, strides, the core's size), so it
    follows whatever config built ``flax_module``; raises ``ValueError`` where :func:`missing` says.
    """
    reason = missing(flax_module)
    if reason:
        raise ValueError(reason)
    lib = _lib()
    length, leads = int(input_shape[0]), int(input_shape[1])
    kind, n_out = type(flax_module).__name__, int(flax_module.n_outputs)
    if kind == "CNN1D":
        return lib.CNN1D(flax_module, n_out, leads, length, rr_dim)
    if kind == "ResNet1D":
        return lib.ResNet1D(flax_module, n_out, leads, length, rr_dim)
    core = flax_module.core
    latent = int(flax_module.latent_dim)
    if type(core).__name__ == "VQC":
        torch_core = lib.Circuit(int(core.n_qubits), int(core.n_layers))
    else:
        torch_core = lib.MatchedDense(latent, int(core.n_out), int(core.hidden))
    return lib.AEVQC(flax_module, n_out, leads, length, torch_core, latent, rr_dim)


def n_params(module) -> int:
    """Every parameter of a mirror (frozen ones included, as ecgq's ``count_params`` counts them)."""
    return sum(p.numel() for p in module.parameters())


# ----------------------------------------------------------------------------------------------
# The circuit


def circuit_tables(n_qubits: int):
    """``(perm, signs)`` of the default circuit on ``n_qubits``: the basis permutation of one CNOT
    ring (``state[:, perm]`` applies it, wire 0 the most significant bit) and the ``(2**n, n)``
    table of the eigenvalue of ``Z_i`` on every basis state."""
    from ecgq.quantum.circuits import ring_pairs, z_signs

    torch = _lib().torch
    basis = np.arange(2 ** n_qubits)
    index = basis
    for control, target in ring_pairs(n_qubits):
        c_bit, t_bit = 1 << (n_qubits - 1 - control), 1 << (n_qubits - 1 - target)
        # After a CNOT, |b> holds the old amplitude of b with the target flipped where the control is set.
        index = index[np.where(basis & c_bit, basis ^ t_bit, basis)]
    return (torch.as_tensor(index, dtype=torch.int64),
            torch.as_tensor(z_signs(n_qubits, range(n_qubits)), dtype=torch.float32))


def circuit_expvals(angles, weights, tables=None):
    """``<Z_i>`` of every wire after RY(angles) on ``|0..0>`` and the ``ryrz_ring`` block.

    ``angles`` ``(batch, n)``, ``weights`` ``(layers, n, 2)`` (RY angle, RZ angle per wire): the
    default circuit of :mod:`ecgq.quantum.circuits`; ``tables`` is :func:`circuit_tables` (built
    here when not given). The encoded state is a real product state; each RY mixes the two halves
    of a wire's axis, each RZ turns them by opposite phases, the CNOT ring is one basis permutation
    per layer, and ``<Z_i>`` sums the probabilities with the eigenvalue signs.
    """
    return _lib().expvals(angles, weights, tables if tables is not None else circuit_tables(angles.shape[-1]))


# ----------------------------------------------------------------------------------------------
# Weights from ecgq


def load_flax_variables(module, variables) -> None:
    """Copy ecgq's ``variables`` into the mirror ``module`` built from their Flax module (for parity).

    Conv kernels ``(k, in, out)`` become ``(out, in, k)``, dense kernels ``(in, out)`` become
    ``(out, in)``, BatchNorm ``scale``/``bias``/``mean``/``var`` fill ``weight``/``bias``/
    ``running_mean``/``running_var``. The ae_vqc decoder is not copied (the mirror never runs it).
    """
    lib = _lib()
    torch = lib.torch
    params, stats = variables["params"], variables.get("batch_stats", {})

    def put(target, value, transpose=None):
        value = np.asarray(value, np.float32)
        target.data.copy_(torch.from_numpy(np.array(value.transpose(transpose) if transpose else value)))

    def conv(torch_conv, p):
        put(torch_conv.weight, p["kernel"], (2, 1, 0))
        if "bias" in p:
            put(torch_conv.bias, p["bias"])

    def dense(linear, p):
        put(linear.weight, p["kernel"], (1, 0))
        put(linear.bias, p["bias"])

    def norm(bn, p, s):
        put(bn.weight, p["scale"])
        put(bn.bias, p["bias"])
        put(bn.running_mean, s["mean"])
        put(bn.running_var, s["var"])

    if isinstance(module, lib.CNN1D):
        for i, block in enumerate(module.blocks):
            conv(block[0].conv, params[f"Conv_{i}"])
            norm(block[1], params[f"BatchNorm_{i}"], stats[f"BatchNorm_{i}"])
        dense(module.hidden, params["Dense_0"])
        dense(module.head, params["head"])
    elif isinstance(module, lib.ResNet1D):
        conv(module.stem.conv, params["stem"])
        norm(module.stem_bn, params["stem_bn"], stats["stem_bn"])
        for i, block in enumerate(module.blocks):
            p, s = params[f"ResidualBlock_{i}"], stats[f"ResidualBlock_{i}"]
            for layer in ("conv1", "conv2") + (("proj",) if block.proj is not None else ()):
                conv(getattr(block, layer).conv, p[layer])
            for layer in ("bn1", "bn2") + (("proj_bn",) if block.proj is not None else ()):
                norm(getattr(block, layer), p[layer], s[layer])
        dense(module.head, params["head"])
    elif isinstance(module, lib.AEVQC):
        for i, layer in enumerate(module.encoder):
            conv(layer.conv, params["encoder"][f"Conv_{i}"])
        dense(module.to_latent, params["encoder"]["to_latent"])
        if module.rr_mixer is not None:
            dense(module.rr_mixer, params["rr_mixer"])
        if isinstance(module.core, lib.Circuit):
            put(module.core.quantum_weights, params["core"]["quantum_weights"])
        else:
            dense(module.core.hidden, params["core"]["hidden"])
            dense(module.core.out, params["core"]["out"])
        if module.readout_hidden is not None:
            dense(module.readout_hidden, params["readout_hidden_layer"])
        dense(module.readout, params["readout"])
    else:
        raise TypeError(f"not a PyTorch mirror: {type(module).__name__}")


# ----------------------------------------------------------------------------------------------
# The training step


def make_train_step(mirrors: list, mode: str, compiled: bool, *, learning_rate: float = 1e-3,
                    weight_decay: float = 1e-4, clip_norm: float = 1.0):
    """``step(x, y) -> losses (members,)``: one training step of every mirror in ``mirrors``.

    ecgq's step in PyTorch: cross-entropy, gradients of the trainable parameters, clipping to a
    global L2 norm of ``clip_norm`` per member, AdamW with decoupled weight decay on every
    trainable parameter (``train_config()``'s optimiser; the learning rate is held constant, which
    costs the same as a schedule). ``mode="loop"`` steps the members one after another, each with
    its own ``torch.optim.AdamW``; ``mode="vmap"`` stacks them (``torch.func.stack_module_state``)
    and takes every member's gradient in one ``torch.func.vmap`` (BatchNorm running statistics
    stacked too, dropout different per member), then one AdamW over the stacked tensors (AdamW is
    elementwise, so this is each member's own update). ``compiled`` puts ``torch.compile`` on the
    model (loop) or on the vmapped gradient (vmap); the optimiser step stays eager.
    """
    lib = _lib()
    torch, F = lib.torch, lib.F
    for module in mirrors:
        module.train()
    if mode == "loop":
        members = []
        for module in mirrors:
            params = [p for p in module.parameters() if p.requires_grad]
            members.append((torch.compile(module) if compiled else module, params,
                            torch.optim.AdamW(params, lr=learning_rate, weight_decay=weight_decay)))

        def loop_step(x, y):
            losses = []
            for forward, params, opt in members:
                opt.zero_grad(set_to_none=True)
                loss = F.cross_entropy(forward(x), y)
                loss.backward()
                torch.nn.utils.clip_grad_norm_(params, clip_norm)
                opt.step()
                losses.append(loss.detach())
            return torch.stack(losses)

        return loop_step
    if mode != "vmap":
        raise ValueError(f"mode must be 'loop' or 'vmap', got {mode!r}")
    import copy

    from torch.func import functional_call, grad_and_value, stack_module_state, vmap

    stacked, buffers = stack_module_state(mirrors)
    names = {name for name, p in mirrors[0].named_parameters() if p.requires_grad}
    trainable = {k: v for k, v in stacked.items() if k in names}
    frozen = {k: v.detach() for k, v in stacked.items() if k not in names}
    template = copy.deepcopy(mirrors[0]).to("meta")

    def loss_of(trained, fixed, stats, x, y):
        return F.cross_entropy(functional_call(template, ({**trained, **fixed}, stats), (x,)), y)

    grads_of = vmap(grad_and_value(loss_of), in_dims=(0, 0, 0, None, None), randomness="different")
    if compiled:
        grads_of = torch.compile(grads_of)
    opt = torch.optim.AdamW(list(trainable.values()), lr=learning_rate, weight_decay=weight_decay)

    def vmap_step(x, y):
        grads, losses = grads_of(trainable, frozen, buffers, x, y)
        norms = torch.sqrt(sum(g.pow(2).flatten(1).sum(1) for g in grads.values()))
        scale = torch.clamp(clip_norm / (norms + 1e-6), max=1.0)  # clip_grad_norm_, per member
        for name, p in trainable.items():
            p.grad = grads[name] * scale.reshape((-1,) + (1,) * (p.dim() - 1))
        opt.step()
        return losses

    return vmap_step
