"""BatchNorm over the global batch on the CPU, where torch's SyncBatchNorm does not run (gloo).

Used by :meth:`factorspace.run.distributed.DistributedContext.sync_batchnorm`.
"""

from __future__ import annotations

import torch
import torch.distributed as dist
from torch import nn


class CpuSyncBatchNorm(nn.BatchNorm2d):
    """BatchNorm2d whose training statistics are those of the global batch, on CPU (gloo).

    torch's SyncBatchNorm runs on GPUs only. Here each process's per-channel sums of ``x`` and
    ``x**2`` and its count go into one all-reduce whose backward all-reduces the gradients
    (:class:`_AllReduceSum`), so each process's gradient is its share of the gradient of
    BatchNorm over the whole batch. One collective per layer and pass, because a supernet has
    hundreds of BatchNorms; the variance as ``E[x**2] - E[x]**2`` is computed in float32 at
    least. Outside training, or in one process, it is a BatchNorm2d.
    """

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not (self.training and dist.is_initialized() and dist.get_world_size() > 1):
            return super().forward(x)
        dims, c = (0, 2, 3), x.size(1)
        xf = x if x.dtype in (torch.float32, torch.float64) else x.float()
        count = xf.new_tensor([x.numel() // c])
        sums = _AllReduceSum.apply(torch.cat([xf.sum(dims), xf.square().sum(dims), count]))
        n = sums[-1].detach()
        mean = sums[:c] / n
        var = (sums[c : 2 * c] / n - mean.square()).clamp_min(0)
        if self.track_running_stats:
            with torch.no_grad():
                self.num_batches_tracked.add_(1)
                factor = self.momentum
                if factor is None:  # a cumulative average
                    factor = 1.0 / float(self.num_batches_tracked)
                self.running_mean.lerp_(mean.to(self.running_mean.dtype), factor)
                unbiased = var * n / (n - 1).clamp_min(1)
                self.running_var.lerp_(unbiased.to(self.running_var.dtype), factor)
        shape = (1, c, 1, 1)
        out = (xf - mean.view(shape)) * torch.rsqrt(var + self.eps).view(shape)
        if self.affine:
            out = out * self.weight.view(shape) + self.bias.view(shape)
        return out.to(x.dtype)

    @classmethod
    def convert(cls, module: nn.Module) -> nn.Module:
        """``module`` with each BatchNorm2d replaced by one of these, sharing its parameters and
        buffers (a state dict loads into either)."""
        if isinstance(module, nn.BatchNorm2d) and not isinstance(module, cls):
            bn = cls(
                module.num_features,
                module.eps,
                module.momentum,
                module.affine,
                module.track_running_stats,
            )
            if module.affine:
                bn.weight, bn.bias = module.weight, module.bias
            if module.track_running_stats:
                bn.running_mean, bn.running_var = module.running_mean, module.running_var
                bn.num_batches_tracked = module.num_batches_tracked
            return bn.train(module.training)
        for name, child in module.named_children():
            module.add_module(name, cls.convert(child))
        return module


class _AllReduceSum(torch.autograd.Function):
    """``all_reduce(SUM)`` that autograd can go through: every process's output is the sum, so
    the gradient of a process's input is the sum of every process's output gradient."""

    @staticmethod
    def forward(ctx, tensor: torch.Tensor) -> torch.Tensor:
        out = tensor.clone(memory_format=torch.contiguous_format)
        dist.all_reduce(out)
        return out

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> torch.Tensor:
        grad = grad.clone(memory_format=torch.contiguous_format)
        dist.all_reduce(grad)
        return grad
