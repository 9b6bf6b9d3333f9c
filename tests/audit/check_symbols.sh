#!/usr/bin/env bash
# Audits the built libraries' symbols.
#   no-network LIB...   no library references a networking function
#   exports SHARED_LIB  the shared library exports only loci_* functions
# Usage: check_symbols.sh MODE NM LIB...
set -euo pipefail
mode=$1 nm=$2
shift 2

net='^(socket|socketpair|connect|bind|listen|accept|accept4|getaddrinfo|freeaddrinfo|gethostbyname|gethostbyname_r|gethostbyaddr|getnameinfo|inet_pton|inet_ntop|inet_addr|inet_aton|send|sendto|sendmsg|recv|recvfrom|recvmsg|setsockopt|getsockopt|curl_.*|SSL_.*|TLS_.*|BIO_.*)(@.*)?$'

case $mode in
  no-network)
    bad=0
    for lib in "$@"; do
      # -D reads a shared library's dynamic table; a static archive has none.
      if [[ $lib == *.a ]]; then undef=$("$nm" --undefined-only "$lib"); else undef=$("$nm" -D --undefined-only "$lib"); fi
      hits=$(awk '{print $NF}' <<<"$undef" | grep -E "$net" | sort -u || true)
      count=$(awk 'NF' <<<"$undef" | grep -vc ':$' || true)
      if [ -n "$hits" ]; then
        echo "FAIL: $lib references networking symbols:" $hits
        bad=1
      else
        echo "ok: $lib: none of $count undefined symbols is a networking call"
      fi
    done
    exit $bad
    ;;
  exports)
    lib=$1
    exported=$("$nm" -D --defined-only "$lib" | awk '$2 ~ /^[TDBRVWi]$/ {print $3}' | sed 's/@.*//' | sort -u)
    if [ -z "$exported" ]; then echo "FAIL: $lib exports nothing"; exit 1; fi
    stray=$(grep -v '^loci_' <<<"$exported" || true)
    if [ -n "$stray" ]; then
      echo "FAIL: $lib exports symbols outside loci_*:"
      echo "$stray" | head -20
      exit 1
    fi
    echo "ok: $lib exports $(wc -l <<<"$exported") symbols, all loci_*"
    ;;
  *) echo "unknown mode $mode"; exit 2 ;;
esac
