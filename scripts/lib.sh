# Shared helpers for the scripts in this folder; source it, do not run it.
# Everything installed lands under $TOOLS_DIR (default: .tools/ in the repository),
# once: a second run finds it there and installs nothing.

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TOOLS_DIR="${TOOLS_DIR:-$REPO_ROOT/.tools}"

say() { printf '==> %s\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

# Whether $2 (a stamp file) holds the checksum of $1, i.e. what was installed from $1
# is current. `stamp_write` records it after an install.
stamp_is_current() { [ "$(cat "$2" 2>/dev/null)" = "$(sha256sum "$1" | cut -d' ' -f1)" ]; }
stamp_write() { sha256sum "$1" | cut -d' ' -f1 >"$2"; }

# Installs Debian packages with apt-get, as root or through sudo; $1 says what for.
apt_install() {
  local why="$1" sudo=""
  shift
  say "installing $* (Debian) $why"
  [ "$(id -u)" = 0 ] || sudo="sudo"
  if ! { $sudo apt-get update -qq \
    && $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null; }; then
    die "could not install $* with apt-get; install it and rerun"
  fi
}

# The Python tools of scripts/requirements-tools.txt, in one virtual environment,
# reinstalled only when that file changes. Puts the venv's bin/ first on PATH.
ensure_python_tools() {
  local venv="$TOOLS_DIR/venv" req="$REPO_ROOT/scripts/requirements-tools.txt"
  if [ ! -x "$venv/bin/python" ] || ! stamp_is_current "$req" "$venv/.requirements.sha256"; then
    say "installing Python tools into $venv (checkov, zizmor, check-jsonschema, schemathesis)"
    command -v python3 >/dev/null || die "python3 is needed to install the check tools"
    python3 -m venv "$venv" || die "could not create a virtual environment at $venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check -r "$req" \
      || die "pip could not install the tools in $req"
    stamp_write "$req" "$venv/.requirements.sha256"
  fi
  export PATH="$venv/bin:$PATH"
}

# The Node tools of scripts/node-tools/package.json (OpenAPI linters, Playwright, the
# User-Agent corpora of the bot tests),
# installed from its lock file into $TOOLS_DIR/node, again only when the lock file
# changes. Puts their bin/ first on PATH.
ensure_node_tools() {
  local dir="$TOOLS_DIR/node" lock="$REPO_ROOT/scripts/node-tools/package-lock.json"
  if [ ! -d "$dir/node_modules" ] || ! stamp_is_current "$lock" "$dir/.lock.sha256"; then
    say "installing Node tools into $dir (redocly, spectral, playwright-core, User-Agent corpora)"
    command -v npm >/dev/null || die "npm is needed to install the Node tools"
    mkdir -p "$dir"
    cp "$REPO_ROOT/scripts/node-tools/package.json" "$lock" "$dir/"
    (cd "$dir" && npm ci --silent --no-audit --no-fund >/dev/null) \
      || die "npm could not install the tools in scripts/node-tools/package-lock.json"
    stamp_write "$lock" "$dir/.lock.sha256"
  fi
  export PATH="$dir/node_modules/.bin:$PATH"
}

# Chromium for the browser tests: Debian's package (Playwright drives it; its own
# browser downloads are not used).
ensure_chromium() {
  command -v chromium >/dev/null || apt_install "for the browser tests" chromium
}

# Java 17+ for DynamoDB Local: the machine's own, or Debian's headless JRE.
ensure_java() {
  if command -v java >/dev/null && java -version 2>&1 | grep -qE 'version "(1[7-9]|[2-9][0-9])'; then
    return
  fi
  apt_install "for DynamoDB Local" openjdk-17-jre-headless
}

# The shellcheck that scripts/check-shell runs: the machine's own, or Debian's package.
ensure_shellcheck() {
  command -v shellcheck >/dev/null || apt_install "for scripts/check-shell" shellcheck
}

# DynamoDB Local, AWS's local engine, from the npm package that carries its jar.
DYNAMODB_LOCAL_PACKAGE="amplify-dynamodb-simulator@2.9.30"
ensure_dynamodb_local() {
  DYNAMODB_LOCAL_DIR="$TOOLS_DIR/dynamodb-local"
  if [ ! -f "$DYNAMODB_LOCAL_DIR/DynamoDBLocal.jar" ]; then
    say "installing DynamoDB Local ($DYNAMODB_LOCAL_PACKAGE) into $DYNAMODB_LOCAL_DIR"
    command -v npm >/dev/null || die "npm is needed to fetch DynamoDB Local"
    local scratch
    scratch="$(mktemp -d)"
    (cd "$scratch" && npm pack --silent "$DYNAMODB_LOCAL_PACKAGE" >/dev/null 2>&1 && tar -xzf ./*.tgz) \
      || die "npm could not fetch $DYNAMODB_LOCAL_PACKAGE"
    rm -rf "$DYNAMODB_LOCAL_DIR" && mkdir -p "$TOOLS_DIR"
    mv "$scratch/package/emulator" "$DYNAMODB_LOCAL_DIR" && rm -rf "$scratch"
    [ -f "$DYNAMODB_LOCAL_DIR/DynamoDBLocal.jar" ] || die "DynamoDBLocal.jar missing from $DYNAMODB_LOCAL_PACKAGE"
  fi
  export DYNAMODB_LOCAL_DIR
}

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# Starts one in-memory DynamoDB Local for the whole run and exports its endpoint.
# The caller stops it with stop_dynamodb_local (the test script does so on exit).
start_dynamodb_local() {
  local port log
  port="$(free_port)"
  log="$TOOLS_DIR/dynamodb-local.log"
  (cd "$DYNAMODB_LOCAL_DIR" && exec java -Djava.library.path=DynamoDBLocal_lib -jar DynamoDBLocal.jar \
    -inMemory -sharedDb -port "$port" -disableTelemetry) >"$log" 2>&1 &
  DYNAMODB_LOCAL_PID=$!
  DYNAMODB_LOCAL_ENDPOINT="http://127.0.0.1:$port"
  local tries=0
  # Any HTTP answer (400 for an unsigned request) means it is serving.
  until curl -s -o /dev/null "$DYNAMODB_LOCAL_ENDPOINT"; do
    if ! kill -0 "$DYNAMODB_LOCAL_PID" 2>/dev/null; then
      cat "$log" >&2
      die "DynamoDB Local exited during start-up (log above)"
    fi
    tries=$((tries + 1))
    [ "$tries" -lt 300 ] || die "DynamoDB Local did not answer on $DYNAMODB_LOCAL_ENDPOINT within 30 s (log: $log)"
    sleep 0.1
  done
  say "DynamoDB Local serving on $DYNAMODB_LOCAL_ENDPOINT"
  export DYNAMODB_LOCAL_ENDPOINT
}

# Warms DynamoDB Local's JVM: a cold one answers a few dozen visits a second, so the
# first test to send many at once would meet the service's 2.5 s deadline. About 3,000
# writes and reads (conditional updates, consistent reads, transactions) on a table of
# its own, in one curl, take a few seconds. DynamoDB Local checks that a request is
# signed, not the signature.
warm_dynamodb_local() {
  local config status answers total ok
  config="$(mktemp)"
  python3 - "$DYNAMODB_LOCAL_ENDPOINT" >"$config" <<'PY'
import json, sys
endpoint = sys.argv[1]
auth = ("Authorization: AWS4-HMAC-SHA256 Credential=local/20260101/us-east-1/dynamodb/"
        "aws4_request, SignedHeaders=host, Signature=0")
first = True
def request(target, body):
    global first
    if not first:
        print("next")
    first = False
    print(f'url = "{endpoint}"\nrequest = "POST"\nheader = "{auth}"')
    print('header = "Content-Type: application/x-amz-json-1.0"')
    print(f'header = "X-Amz-Target: DynamoDB_20120810.{target}"')
    print(f"data = {json.dumps(json.dumps(body))}\noutput = \"/dev/null\"")
    print('write-out = "%{http_code}\\n"')
table = "warm-up"
counter = lambda i: {"id": {"S": f"k{i % 50}"}}
add = {"UpdateExpression": "ADD #v :one", "ExpressionAttributeNames": {"#v": "views"}}
for i in range(2000):
    request("UpdateItem", {"TableName": table, "Key": counter(i), **add,
        "ConditionExpression": "attribute_not_exists(#v) OR #v < :max",
        "ExpressionAttributeValues": {":one": {"N": "1"}, ":max": {"N": "100000000"}},
        "ReturnValues": "UPDATED_NEW"})
    if i % 4 == 0:
        request("GetItem", {"TableName": table, "Key": counter(i), "ConsistentRead": True})
    if i % 8 == 0:
        request("TransactWriteItems", {"TransactItems": [
            {"Update": {"TableName": table, "Key": counter(i), **add,
                        "ExpressionAttributeValues": {":one": {"N": "1"}}}},
            {"Put": {"TableName": table, "Item": {"id": {"S": f"p{i}"}},
                     "ConditionExpression": "attribute_not_exists(id)"}}]})
PY
  say "warming DynamoDB Local (about 3,000 requests)"
  status="$(curl -s -X POST "$DYNAMODB_LOCAL_ENDPOINT" -o /dev/null -w '%{http_code}' \
    -H "$(sed -n 's/^header = "\(Authorization: .*\)"$/\1/p' "$config" | head -1)" \
    -H 'Content-Type: application/x-amz-json-1.0' \
    -H 'X-Amz-Target: DynamoDB_20120810.CreateTable' \
    -d '{"TableName":"warm-up","AttributeDefinitions":[{"AttributeName":"id","AttributeType":"S"}],"KeySchema":[{"AttributeName":"id","KeyType":"HASH"}],"BillingMode":"PAY_PER_REQUEST"}')" ||
    true
  [ "$status" = 200 ] ||
    die "DynamoDB Local answered the warm-up's CreateTable with HTTP ${status:-nothing} (log: $TOOLS_DIR/dynamodb-local.log)"
  answers="$(curl -sS --no-progress-meter --parallel --parallel-max 16 -K "$config")" || true
  rm -f "$config"
  # Every request answered, nearly all with 200 (a transaction may meet another on the
  # same item and be cancelled: a 400 that warms as well).
  total="$(grep -c . <<<"$answers")" || true
  ok="$(grep -c '^200$' <<<"$answers")" || true
  if [ "$total" -lt 2750 ] || [ "$ok" -lt 2500 ]; then
    die "DynamoDB Local answered $ok of the warm-up's 2,750 requests with 200 ($total answers; log: $TOOLS_DIR/dynamodb-local.log)"
  fi
}

stop_dynamodb_local() {
  if [ -n "${DYNAMODB_LOCAL_PID:-}" ]; then
    kill "$DYNAMODB_LOCAL_PID" 2>/dev/null || true
    wait "$DYNAMODB_LOCAL_PID" 2>/dev/null || true
  fi
}

# The Terraform provider mirror the offline Terraform tests install from: the folder
# that holds registry.terraform.io/hashicorp/aws/VERSION/PLATFORM/ (unpacked) or
# registry.terraform.io/hashicorp/aws/terraform-provider-aws_VERSION_PLATFORM.zip
# (packed, as `terraform providers mirror DIR` makes it). The machine image of this
# project carries hashicorp/aws 5.100.0 at /opt/tf-plugins; TF_PROVIDER_MIRROR names
# another (CI makes one with `terraform providers mirror`).
TF_PROVIDER_MIRROR_DEFAULT=/opt/tf-plugins

# Writes a Terraform CLI configuration into directory $1 that installs providers from
# the mirror and from nowhere else, and exports TF_CLI_CONFIG_FILE naming it. Dies,
# saying how to get one, when there is no mirror holding hashicorp/aws.
use_terraform_provider_mirror() {
  local dir="$1" mirror="${TF_PROVIDER_MIRROR:-$TF_PROVIDER_MIRROR_DEFAULT}"
  if [ ! -d "$mirror/registry.terraform.io/hashicorp/aws" ]; then
    die "no Terraform provider mirror with hashicorp/aws at $mirror (looked for $mirror/registry.terraform.io/hashicorp/aws). The Terraform tests plan offline, from a mirror: on a machine that reaches the registry make one with \`terraform -chdir=terraform providers mirror DIR\` and set TF_PROVIDER_MIRROR=DIR"
  fi
  mkdir -p "$dir"
  # Only the mirror: with a provider_installation block Terraform uses the methods it
  # lists and no other, so a provider missing there fails init instead of downloading.
  cat >"$dir/terraform.tfrc" <<TFRC
provider_installation {
  filesystem_mirror {
    path = "$mirror"
  }
}
TFRC
  export TF_CLI_CONFIG_FILE="$dir/terraform.tfrc"
}

# The Terraform on PATH, 1.11 or newer (mocked providers plan with override_during
# since 1.11), or die saying so.
require_terraform() {
  command -v terraform >/dev/null \
    || die "terraform is needed (1.11 or newer): https://developer.hashicorp.com/terraform/install"
  local version
  version="$(TF_CLI_CONFIG_FILE=/dev/null terraform version -json 2>/dev/null | sed -n 's/.*"terraform_version": *"\([0-9.]*\)".*/\1/p')"
  case "$version" in
    1.1[1-9].* | 1.[2-9][0-9].* | [2-9].*) ;;
    *) die "terraform ${version:-of unknown version} is too old: 1.11 or newer is needed" ;;
  esac
}
