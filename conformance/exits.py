"""How a command of the harness ends: its exit code, or a usage error with one line.

Shared by every command and by the library code under them, which raises `UsageError`
for a mistake the user can fix (a bad option, an unreadable file, an unreachable
deployment); the command line prints it and exits `EXIT_USAGE`, pytest ends its session
with its own usage code.
"""

from __future__ import annotations

# 0 when everything required passed, 1 when something failed (or the command was
# stopped by Ctrl-C or SIGTERM), 2 on a usage or connection error.
EXIT_PASSED, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


class UsageError(Exception):
    """A mistake in the command line or an unreachable target: exit 2 with one line."""
