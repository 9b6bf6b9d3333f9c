/* Not part of loci: a library that does call the network, to prove the
 * no-network audit fails when it should. */
#include <netdb.h>
#include <stddef.h>
#include <sys/socket.h>

int loci_audit_canary(const char* host) {
  struct addrinfo* info = NULL;
  if (getaddrinfo(host, "80", NULL, &info) != 0) return -1;
  int fd = socket(info->ai_family, SOCK_STREAM, 0);
  int rc = fd >= 0 ? connect(fd, info->ai_addr, info->ai_addrlen) : -1;
  freeaddrinfo(info);
  return rc;
}
