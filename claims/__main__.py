import os

# Before torch starts: a thread waiting for its partner sleeps instead of spinning. No number changes,
# but on a shared 2-core machine a 2-thread run spins away the core its partner needs (docs/01).
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

from claims.runner import main  # after the variable, which torch reads once, when it starts

raise SystemExit(main())
