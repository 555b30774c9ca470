"""Run at interpreter start when ``ORQ_THREAD_LINT_MODE`` is set (by ``orq-thread-lint run`` or by
hand): :func:`~.install.install` with that mode and the policy found from the working directory
(or ``ORQ_THREAD_LINT_CONFIG``). The package's ``orq_thread_lint_startup.pth`` calls :func:`main`
only when the variable is set; otherwise it costs one environment lookup.

A problem here never stops the program: it is reported on stderr and the program runs unguarded
(``orq-thread-lint run`` checks the policy before it starts the program).
"""

from __future__ import annotations

import os
import sys

MODE = "ORQ_THREAD_LINT_MODE"
CONFIG = "ORQ_THREAD_LINT_CONFIG"


def main() -> None:
    mode = os.environ.get(MODE, "")
    try:
        from ..policy import Policy
        from .install import install

        install(Policy.load(os.environ.get(CONFIG) or None), mode=mode)
    except Exception as exc:
        print(f"orq-thread-lint: requests are not checked: {exc}", file=sys.stderr)
