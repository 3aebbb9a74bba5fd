#!/usr/bin/env bash
# Set up a fresh machine: system packages (when we may install them), then
# the virtual environment .venv/ with grader, its instructor stack and its test tools.
# Called by `make demo` and `make test`; safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."

want=()
command -v bwrap >/dev/null || want+=(bubblewrap)        # the sandbox for student code
command -v chromium >/dev/null || want+=(chromium)       # the report tests open reports in it
if [ ${#want[@]} -gt 0 ]; then
  if command -v apt-get >/dev/null && [ "$(id -u)" = 0 ]; then
    echo "setup: installing ${want[*]} with apt-get"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${want[@]}" >/dev/null
  elif command -v apt-get >/dev/null && sudo -n true 2>/dev/null; then
    sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${want[@]}" >/dev/null
  else
    echo "setup: WARNING: please install ${want[*]} (Debian/Ubuntu: apt-get install ${want[*]})." >&2
    echo "setup: without bubblewrap, student code runs without a sandbox; see README, Security model." >&2
  fi
fi

python=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  echo "setup: creating .venv with $($python --version)"
  "$python" -m venv .venv
fi
echo "setup: installing grader and its dependencies into .venv (about 2 minutes the first time)"
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet -e '.[instructor,test]'
# the rubrics' course packages, with --no-deps into .venv/course-packages (README: Course packages)
.venv/bin/python -m grader environment
touch .venv/.installed
