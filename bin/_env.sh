# Shared by bin/dev, bin/test and bin/lock: make sure .venv exists and holds requirements-dev.lock
# (the pinned, hashed set; bin/lock makes it from the ranges in requirements*.txt).
# Re-installs only when the lock file's content differs from the last install's.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
PY=${PYTHON:-python3}
if ! "$PY" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
  echo "Python 3.11 or newer is needed (set PYTHON=/path/to/python3.11)." >&2
  exit 1
fi
if [ ! -x .venv/bin/python ]; then
  echo "Creating .venv ..."
  "$PY" -m venv .venv
fi
stamp=.venv/.requirements-installed
lock_hash=$(.venv/bin/python -c 'import hashlib, sys; print(hashlib.sha256(open(sys.argv[1], "rb").read()).hexdigest())' requirements-dev.lock)
if [ "$(cat "$stamp" 2>/dev/null)" != "$lock_hash" ]; then
  echo "Installing requirements-dev.lock ..."
  # --require-hashes: every file must match a hash in the lock (pip also upgrades itself to its pin).
  .venv/bin/python -m pip install --quiet --require-hashes -r requirements-dev.lock
  echo "$lock_hash" >"$stamp"
fi
