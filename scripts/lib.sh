# Shared helpers for the scripts in this folder; source it, do not run it.
# Everything installed lands under $TOOLS_DIR (default: .tools/ in the repository),
# once: a second run finds it there and installs nothing.

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TOOLS_DIR="${TOOLS_DIR:-$REPO_ROOT/.tools}"

say() { printf '==> %s\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

# The Python tools of scripts/requirements-tools.txt, in one virtual environment,
# reinstalled only when that file changes. Puts the venv's bin/ first on PATH.
ensure_python_tools() {
  local venv="$TOOLS_DIR/venv" req="$REPO_ROOT/scripts/requirements-tools.txt"
  local stamp="$venv/.requirements.sha256" want
  want="$(sha256sum "$req" | cut -d' ' -f1)"
  if [ ! -x "$venv/bin/python" ] || [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
    say "installing Python tools into $venv (checkov, zizmor, check-jsonschema)"
    command -v python3 >/dev/null || die "python3 is needed to install the check tools"
    python3 -m venv "$venv" || die "could not create a virtual environment at $venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check -r "$req" \
      || die "pip could not install the tools in $req"
    echo "$want" >"$stamp"
  fi
  export PATH="$venv/bin:$PATH"
}
