#!/usr/bin/env bash
# Audits the built libraries' symbols.
#   no-network LIB...   no library references a networking function
#   canary CC SRC       builds SRC (a library that connects) in a temporary
#                       directory, audits it (which must fail), deletes it
#   isa-objects OBJ...  objects built with ISA flags (*__<isa>.cpp.o) define no
#                       weak symbols: the linker could otherwise keep their copy
#                       of an inline function for baseline code, which would then
#                       run AVX-512 or dotprod instructions on CPUs without them
# Usage: check_symbols.sh MODE NM LIB...
set -euo pipefail
mode=$1 nm=$2
shift 2

# Sockets and name resolution (libc), then the HTTP/TLS/DNS library families.
net='^(socket|socketpair|connect|bind|listen|accept|accept4|shutdown|getaddrinfo|freeaddrinfo|gai_strerror|gethostbyname|gethostbyname2|gethostbyname_r|gethostbyaddr|gethostent|getnameinfo|getservbyname|getifaddrs|if_nametoindex|inet_pton|inet_ntop|inet_addr|inet_aton|inet_ntoa|send|sendto|sendmsg|sendmmsg|recv|recvfrom|recvmsg|recvmmsg|setsockopt|getsockopt|getpeername|getsockname|res_init|res_query|res_search|res_nquery|__res_.*|curl_.*|SSL_.*|SSL_CTX_.*|TLS_.*|BIO_.*|OPENSSL_.*|gnutls_.*|mbedtls_.*|wolfSSL_.*|nghttp2_.*|ares_.*|evhttp_.*|uv_tcp_.*|zmq_.*)(@.*)?$'

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
  canary)
    cc=$1 src=$2
    dir=$(mktemp -d)
    trap 'rm -rf "$dir"' EXIT
    "$cc" -shared -fPIC -o "$dir/libloci_net_canary.so" "$src"
    # Prints the FAIL line the test expects; its status is the audit's (1).
    bash "$0" no-network "$nm" "$dir/libloci_net_canary.so" && exit 1
    exit 0
    ;;
  isa-objects)
    bad=0 checked=0 objs=()
    for arg in "$@"; do  # ctest passes $<TARGET_OBJECTS> as one ;-separated argument
      IFS=';' read -ra parts <<<"$arg"
      objs+=("${parts[@]}")
    done
    for obj in "${objs[@]}"; do
      [[ $obj =~ __(avx2|avx512|avx512vnni|neon|dotprod|i8mm)\.cpp\.o$ ]] || continue
      checked=$((checked + 1))
      weak=$("$nm" --defined-only "$obj" | awk '$2 ~ /^[WVu]$/ {print $3}')
      if [ -n "$weak" ]; then
        echo "FAIL: $(basename "$obj") defines weak symbols (make them static or anonymous-namespace):"
        echo "$weak" | head -10
        bad=1
      fi
    done
    if [ "$checked" = 0 ]; then echo "FAIL: no ISA-flagged objects given"; exit 1; fi
    [ $bad = 0 ] && echo "ok: $checked ISA-flagged objects define no weak symbols"
    exit $bad
    ;;
  *) echo "unknown mode $mode"; exit 2 ;;
esac
