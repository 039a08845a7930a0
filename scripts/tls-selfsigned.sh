#!/usr/bin/env bash
# tls-selfsigned.sh - a self-signed certificate for running MDT Board over
# HTTPS locally (never for production: browsers will warn about it).
#
#   scripts/tls-selfsigned.sh [DIR]     default DIR: var/tls in the repository
#
# Writes DIR/cert.pem and DIR/key.pem (EC P-256 key, CN=localhost,
# subjectAltName DNS:localhost, IP:127.0.0.1, valid 825 days) unless both
# already exist and still form a valid pair, then prints the two lines to
# export:
#   MDT_TLS_CERT=DIR/cert.pem
#   MDT_TLS_KEY=DIR/key.pem
# Idempotent: a second run keeps the existing pair and prints the same lines.
# A pair that has expired (or expires within a day) or whose key does not
# match is replaced. Messages go to stderr, so
#   export $(scripts/tls-selfsigned.sh)
# works.
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
DIR=${1:-$REPO/var/tls}

die() {
    echo "tls-selfsigned.sh: $*" >&2
    exit 1
}

case ${1:-} in
-h | --help)
    sed -n '2,17p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2
    exit 0
    ;;
esac

command -v openssl >/dev/null || die "openssl is not installed (apt-get install openssl)"
mkdir -p "$DIR"
DIR=$(cd "$DIR" && pwd)
CERT=$DIR/cert.pem
KEY=$DIR/key.pem

# pair_ok - the existing cert and key match and the cert is valid for a day more.
pair_ok() {
    [[ -s $CERT && -s $KEY ]] || return 1
    openssl x509 -in "$CERT" -noout -checkend 86400 >/dev/null 2>&1 || return 1
    local a b
    a=$(openssl x509 -in "$CERT" -noout -pubkey 2>/dev/null | openssl sha256) || return 1
    b=$(openssl pkey -in "$KEY" -pubout 2>/dev/null | openssl sha256) || return 1
    [[ -n $a && $a == "$b" ]]
}

if ! pair_ok; then
    tmpkey=$(mktemp "$DIR/.key.XXXXXX")
    tmpcert=$(mktemp "$DIR/.cert.XXXXXX")
    trap 'rm -f "$tmpkey" "$tmpcert"' EXIT
    (
        umask 077
        openssl req -x509 -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
            -keyout "$tmpkey" -out "$tmpcert" -days 825 -sha256 \
            -subj "/CN=localhost" \
            -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" \
            -addext "basicConstraints=critical,CA:FALSE" \
            -addext "keyUsage=critical,digitalSignature" \
            -addext "extendedKeyUsage=serverAuth" >/dev/null 2>&1
    ) || die "openssl req failed"
    chmod 0600 "$tmpkey"
    chmod 0644 "$tmpcert"
    mv -f "$tmpkey" "$KEY"
    mv -f "$tmpcert" "$CERT"
    trap - EXIT
    echo "tls-selfsigned.sh: wrote $CERT and $KEY (self-signed, CN=localhost, 825 days)" >&2
fi

echo "MDT_TLS_CERT=$CERT"
echo "MDT_TLS_KEY=$KEY"
