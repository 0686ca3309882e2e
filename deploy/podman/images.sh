#!/usr/bin/env bash
# Build the images with podman where no image registry is reachable (`make image`):
#   1. a Debian bookworm base (python3 3.11) made by mmdebstrap from Debian's mirror,
#      imported as localhost/python-base:bookworm (kept; rebuilt when this script changes
#      its package list or with REBUILD_BASE=1);
#   2. deploy/Dockerfile and deploy/gatherarr/Dockerfile on that base
#      (--build-arg PYTHON_IMAGE=...); both keep their registry base for real builds;
#   3. local stand-ins for postgres:15 and nats:2.10 (deploy/podman/*.Containerfile) for
#      the compose and kube play tests.
# Prints each image's size. Needs podman, runc and mmdebstrap (`make containers-install`).
set -euo pipefail
cd "$(dirname "$0")/../.."
export CONTAINERS_CONF="${CONTAINERS_CONF:-$PWD/deploy/podman/containers.conf}"

BASE_IMAGE="${BASE_IMAGE:-localhost/python-base:bookworm}"
IMAGE="${IMAGE:-localhost/comradarr:dev}"
GATHERARR_IMAGE="${GATHERARR_IMAGE:-localhost/gatherarr:dev}"
# Stand-ins for the official postgres:15 and nats:2.10 images (compose and kube play tests).
POSTGRES_IMAGE="${POSTGRES_IMAGE:-localhost/postgres:15}"
NATS_IMAGE="${NATS_IMAGE:-localhost/nats:2.10}"
MIRROR="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"
SECURITY="${DEBIAN_SECURITY_MIRROR:-http://deb.debian.org/debian-security}"
# What the base adds to minbase: Python 3.11 with venv, and CA certificates.
PACKAGES="python3,python3-venv,ca-certificates"
WORK=.build/images
mkdir -p "$WORK"

log() { printf '[images] %s\n' "$*" >&2; }

base() {
    local stamp="$WORK/base.packages"
    if [[ "${REBUILD_BASE:-0}" != 1 ]] && podman image exists "$BASE_IMAGE" \
        && [[ -f "$stamp" && "$(cat "$stamp")" == "$PACKAGES" ]]; then
        log "base $BASE_IMAGE is there (REBUILD_BASE=1 to remake it)"
        return
    fi
    local start=$SECONDS
    log "mmdebstrap bookworm ($PACKAGES) from $MIRROR"
    mmdebstrap --quiet --variant=minbase --include="$PACKAGES" \
        --dpkgopt='path-exclude=/usr/share/doc/*' \
        --dpkgopt='path-exclude=/usr/share/man/*' \
        --dpkgopt='path-exclude=/usr/share/locale/*' \
        bookworm "$WORK/base.tar" \
        "deb $MIRROR bookworm main" "deb $MIRROR bookworm-updates main" \
        "deb $SECURITY bookworm-security main"
    podman import --quiet "$WORK/base.tar" "$BASE_IMAGE" >/dev/null
    rm -f "$WORK/base.tar"
    echo "$PACKAGES" >"$stamp"
    log "base $BASE_IMAGE built in $((SECONDS - start)) s"
}

build() {  # build DOCKERFILE TAG [more podman build arguments]
    local start=$SECONDS
    local args=(--format docker --build-arg "PYTHON_IMAGE=$BASE_IMAGE" -f "$1" -t "$2" "${@:3}")
    local ignore="$1.dockerignore"
    [[ "$1" == *.Containerfile ]] && ignore=deploy/podman/Containerfile.dockerignore
    [[ -f "$ignore" ]] && args+=(--ignorefile "$ignore")
    # Downloads inside the build trust what this host trusts (a TLS-inspecting proxy's CA).
    [[ -f /etc/ssl/certs/ca-certificates.crt ]] \
        && args+=(-v /etc/ssl/certs/ca-certificates.crt:/etc/ssl/certs/ca-certificates.crt:ro)
    log "building $2 from $1"
    # shellcheck disable=SC2086
    nice podman build --layers ${PODMAN_BUILD_FLAGS:-} "${args[@]}" . >&2
    log "$2 built in $((SECONDS - start)) s"
}

deps() {
    build deploy/podman/postgres.Containerfile "$POSTGRES_IMAGE" --build-arg "BASE_IMAGE=$BASE_IMAGE"
    build deploy/podman/nats.Containerfile "$NATS_IMAGE" --build-arg "BASE_IMAGE=$BASE_IMAGE" \
        --build-arg "COMRADARR_IMAGE=$IMAGE"
}

sizes() {
    for image in "$IMAGE" "$GATHERARR_IMAGE" "$BASE_IMAGE" "$POSTGRES_IMAGE" "$NATS_IMAGE"; do
        podman image exists "$image" || continue
        podman image inspect --format '{{.Size}}' "$image" \
            | awk -v i="$image" '{printf "image size: %-34s %6.1f MB\n", i, $1 / 1e6}'
    done
}

case "${1:-all}" in
    base) base ;;
    comradarr) base; build deploy/Dockerfile "$IMAGE" ;;
    gatherarr) base; build deploy/gatherarr/Dockerfile "$GATHERARR_IMAGE" ;;
    deps) base; deps ;;
    all)
        base
        build deploy/Dockerfile "$IMAGE"
        build deploy/gatherarr/Dockerfile "$GATHERARR_IMAGE"
        deps
        sizes
        ;;
    sizes) sizes ;;
    *) echo "usage: $0 [all|base|comradarr|gatherarr|deps|sizes]" >&2; exit 2 ;;
esac
