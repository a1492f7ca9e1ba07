"""The explorer server's kernel manager: at most ``max_kernels`` kernels at once.

Voilà starts a kernel (a Python process that loads the model, a few hundred MB) for every request
of the page, so without a cap any client that reaches the port could start them until the
machine runs out of memory. Voilà imports this module by name (its configuration in
:mod:`airbnb.explore_app`), so it stays light: no model, no torch.
"""
from __future__ import annotations

from jupyter_server.services.kernels.kernelmanager import AsyncMappingKernelManager
from tornado.web import HTTPError
from traitlets import Int

MAX_KERNELS = 4  # open pages served at once: each kernel holds the model in memory


class CappedKernelManager(AsyncMappingKernelManager):
    """Jupyter's kernel manager, refusing a new kernel (HTTP 503, said on the page) while
    ``max_kernels`` run; a page's kernel ends when the page is closed, or is culled once idle and
    disconnected."""

    max_kernels = Int(MAX_KERNELS, config=True, help="kernels (open pages) running at most")

    async def start_kernel(self, *args, **kwargs) -> str:
        if len(self.list_kernel_ids()) >= self.max_kernels:
            raise HTTPError(503, reason=f"the price explorer serves {self.max_kernels} open pages at most: close one "
                                        "and reload")
        return await super().start_kernel(*args, **kwargs)
