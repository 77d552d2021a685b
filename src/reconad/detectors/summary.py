"""A torchinfo-like text table of a model's layers, output shapes and parameter counts."""

from __future__ import annotations

import torch


def layer_table(model: torch.nn.Module, input_shape: tuple[int, ...]) -> str:
    """A torchinfo-like table: every module in call order with its output shape and its own parameters.

    Forward hooks record one pass on zeros of ``input_shape``; a container shows ``--`` for parameters (its
    children carry them), so the column adds up to the total.
    """
    names = {module: name for name, module in model.named_modules()}
    rows: list[list[str]] = []  # [label, output shape, parameters], in the order modules are entered
    open_rows: list[int] = []

    def enter(module, _inputs):
        name = names[module]
        own = sum(p.numel() for p in module.parameters(recurse=False))
        leaf = next(module.children(), None) is None
        label = "  " * len(open_rows) + type(module).__name__ + (f" ({name})" if name else "")  # nesting = depth
        rows.append([label, "--", f"{own:,}" if leaf or own else "--"])
        open_rows.append(len(rows) - 1)

    def leave(_module, _inputs, output):
        rows[open_rows.pop()][1] = str(list(output.shape)) if isinstance(output, torch.Tensor) else "--"

    hooks = [h for m in names for h in (m.register_forward_pre_hook(enter), m.register_forward_hook(leave))]
    was_training = model.training
    try:
        model.eval()
        with torch.no_grad():
            model(torch.zeros(input_shape, device=next(model.parameters()).device))
    finally:
        for hook in hooks:
            hook.remove()
        model.train(was_training)
    total = sum(p.numel() for p in model.parameters())
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    width = max(len("Layer (type)"), *(len(row[0]) for row in rows)) + 2
    rule = "=" * (width + 34)
    lines = [f"{'Layer (type)':<{width}}{'Output Shape':<22}{'Param #':>12}", rule]
    lines += [f"{label:<{width}}{shape:<22}{params:>12}" for label, shape, params in rows]
    lines += [
        rule,
        f"Input shape: {list(input_shape)}",
        f"Total params: {total:,}",
        f"Trainable params: {trainable:,}",
        f"Non-trainable params: {total - trainable:,}",
    ]
    return "\n".join(lines) + "\n"
