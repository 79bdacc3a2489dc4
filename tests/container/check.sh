#!/usr/bin/env bash
# Prove the container: build the Dockerfile with buildah, then inside the image, as its
# non-root user and with /data as a volume, run `afterglow check`, `afterglow demo` and
# `afterglow check --live` (which must fail: no bot is running); then `afterglow run` against
# the project's fake Bot API server inside the image: the live check passes, the daily backup
# appears, and once the process is frozen the live check fails (tests/container/live.sh).
#
# Needs root and buildah (Debian: apt-get install -y buildah). Where the Dockerfile's base
# image cannot be pulled (a build machine that reaches package registries only), an
# equivalent base is built from Debian's own packages instead, and the script says so:
# debootstrap of the Debian release whose python3 is the base image's Python version, with
# that Python in a venv at /usr/local/python as `python` and `pip` (the official image
# compiles the same Python minor version into /usr/local). If this machine reaches PyPI
# through an intercepting proxy (extra CAs in /usr/local/share/ca-certificates), that local
# base trusts those CAs too, as the machine does. A base built by an earlier run is reused.
set -euo pipefail
cd "$(dirname "$0")/../.."

export BUILDAH_ISOLATION=chroot
BUILDAH=(buildah --storage-driver vfs)
BASE=$(awk 'toupper($1) == "FROM" { print $2; exit }' Dockerfile)
IMAGE=localhost/afterglow:container-check
MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
WORK=$(mktemp -d)
DATA="$WORK/data"
CONTAINER=""

cleanup() {
    if [[ -n "$CONTAINER" ]]; then "${BUILDAH[@]}" rm "$CONTAINER" >/dev/null || true; fi
    rm -rf "$WORK"
}
trap cleanup EXIT

say() { printf '\n== %s\n' "$*"; }

debian_release_for() {
    # The Debian release whose own python3 is this version.
    case "$1" in
        3.9) echo bullseye ;;
        3.11) echo bookworm ;;
        3.13) echo trixie ;;
        *) echo "no Debian release ships Python $1 as python3" >&2; return 1 ;;
    esac
}

build_local_base() {
    local version release root
    version=$(sed -E 's/^python:([0-9]+\.[0-9]+).*/\1/' <<<"$BASE")
    release=$(debian_release_for "$version")
    root="$WORK/rootfs"
    [[ -n "$WORK" && -d "$WORK" ]] || return 1
    say "building an equivalent of $BASE from Debian's packages: $release (python3 $version) from $MIRROR"
    command -v debootstrap >/dev/null || apt-get install -y -q debootstrap
    debootstrap --variant=minbase \
        --include=python3,python3-venv,ca-certificates,tzdata,netbase \
        "$release" "$root" "$MIRROR" >"$WORK/debootstrap.log" 2>&1 \
        || { tail -20 "$WORK/debootstrap.log"; return 1; }
    chroot "$root" python3 -m venv /usr/local/python
    local trust=""
    if compgen -G "/usr/local/share/ca-certificates/*.crt" >/dev/null; then
        echo "this machine trusts extra CAs (an egress proxy): the local base trusts them too"
        cp /usr/local/share/ca-certificates/*.crt "$root/usr/local/share/ca-certificates/"
        chroot "$root" update-ca-certificates >/dev/null
        trust="ENV PIP_CERT=/etc/ssl/certs/ca-certificates.crt"
    fi
    rm -rf "${root:?}"/var/cache/apt/archives/*.deb "${root:?}"/var/lib/apt/lists/*
    tar -C "$root" -cf "$WORK/rootfs.tar" .
    cat >"$WORK/Containerfile" <<CONTAINERFILE
FROM scratch
ADD rootfs.tar /
ENV PATH=/usr/local/python/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \\
    LANG=C.UTF-8
$trust
LABEL afterglow.local-base="debootstrap $release from $MIRROR"
CMD ["python3"]
CONTAINERFILE
    "${BUILDAH[@]}" bud --quiet --format docker -t "docker.io/library/$BASE" \
        -f "$WORK/Containerfile" "$WORK" >/dev/null
}

describe_base() {
    local probe
    probe=$("${BUILDAH[@]}" from --pull-never "docker.io/library/$BASE")
    "${BUILDAH[@]}" run "$probe" -- sh -c \
        'echo "base: $(. /etc/os-release; echo "$PRETTY_NAME"), $(python --version), $(pip --version | cut -d" " -f1-2)"'
    "${BUILDAH[@]}" rm "$probe" >/dev/null
}

say "base image $BASE"
PULL=()
LOCAL_BASE=$("${BUILDAH[@]}" inspect --type image --format \
    '{{index .Docker.Config.Labels "afterglow.local-base"}}' "docker.io/library/$BASE" \
    2>/dev/null || true)
if [[ -n "$LOCAL_BASE" ]]; then
    echo "using the equivalent base an earlier run built from Debian's packages ($LOCAL_BASE)"
    PULL=(--pull-never)
elif "${BUILDAH[@]}" pull --quiet "docker.io/library/$BASE" >"$WORK/pull.log" 2>&1; then
    echo "pulled docker.io/library/$BASE"
else
    echo "cannot pull docker.io/library/$BASE: $(tail -1 "$WORK/pull.log")"
    build_local_base
    PULL=(--pull-never)
fi
describe_base

say "buildah bud (the project's Dockerfile)"
PREVIOUS=$("${BUILDAH[@]}" images --quiet "$IMAGE" 2>/dev/null || true)
"${BUILDAH[@]}" bud --format docker "${PULL[@]}" -t "$IMAGE" . 2>&1 \
    | grep -E '^(STEP|COMMIT|Successfully)' || true
"${BUILDAH[@]}" inspect --type image "$IMAGE" >/dev/null
if [[ -n "$PREVIOUS" && "$PREVIOUS" != "$("${BUILDAH[@]}" images --quiet "$IMAGE")" ]]; then
    "${BUILDAH[@]}" rmi "$PREVIOUS" >/dev/null 2>&1 || true  # this script's previous build
fi

say "image configuration"
"${BUILDAH[@]}" inspect --type image --format \
    'user={{.Docker.Config.User}} workdir={{.Docker.Config.WorkingDir}} volumes={{.Docker.Config.Volumes}} cmd={{.Docker.Config.Cmd}}
healthcheck={{.Docker.Config.Healthcheck.Test}} interval={{.Docker.Config.Healthcheck.Interval}}' \
    "$IMAGE"

mkdir -p "$DATA"
UID_IN_IMAGE=10001  # the Dockerfile's `useradd --uid 10001 afterglow`
chown "$UID_IN_IMAGE:$UID_IN_IMAGE" "$DATA"
CONTAINER=$("${BUILDAH[@]}" from "$IMAGE")
# buildah run mounts its own anonymous volume over a path the image declares as VOLUME,
# hiding a bind mount there; drop the declaration from this working container only (the
# image keeps it, shown above) so /data is the host folder, as with `docker run -v`.
"${BUILDAH[@]}" config --volume /data- "$CONTAINER"
RUN=("${BUILDAH[@]}" run --user afterglow --volume "$DATA:/data"
    --volume "$PWD/tests/container:/check:ro"
    --env TELEGRAM_BOT_TOKEN=123456:container-check-not-a-real-token
    --env AFTERGLOW_STAFF_CHAT_ID=-1001234567890
    --env AFTERGLOW_ADMIN_IDS=42
    --env AFTERGLOW_COUNTRY=GB
    --env AFTERGLOW_TIMEZONE=Europe/London
    "$CONTAINER" --)

say "inside: who runs it"
"${RUN[@]}" sh -c 'echo "uid=$(id -u) user=$(id -un) cwd=$(pwd) AFTERGLOW_DB=$AFTERGLOW_DB"; afterglow --version'

say "inside: afterglow check"
"${RUN[@]}" afterglow check

say "inside: afterglow demo --days 14 --patients 2 --out /data/demo"
"${RUN[@]}" afterglow demo --days 14 --patients 2 --out /data/demo | tail -6
ls -l "$DATA/demo"

say "inside: afterglow check --live (no bot is running: it must fail)"
set +e
"${RUN[@]}" afterglow check --live 2>/dev/null | tail -2
live=${PIPESTATUS[0]}
set -e
echo "exit code $live"
if [[ $live -ne 1 ]]; then
    echo "FAILED: the live health check passed with no bot running" >&2
    exit 1
fi

say "inside: afterglow run against the fake Bot API server; then frozen (about 3 minutes)"
"${RUN[@]}" sh /check/live.sh | tee "$WORK/live.log"
grep -q '^running:  check --live exit 0' "$WORK/live.log"
grep -q '^backups:  afterglow-' "$WORK/live.log"
grep -q '^frozen:   check --live exit 1' "$WORK/live.log"
grep -q '^SIGTERM:  afterglow run exit 0' "$WORK/live.log"

say "container check passed"
