/* ISC license. */
/* Readiness: once every wanted worker has said ready, the supervisor
 * writes a newline to the -d fd and closes it (s6 notification-fd), and
 * sends READY=1 to $NOTIFY_SOCKET when set (systemd Type=notify). Once
 * only: later restarts of a worker do not make the service "ready" again. */

#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "sv.h"

static void
notify_socket(void)
{
	const char *path = getenv("NOTIFY_SOCKET");
	struct sockaddr_un sa;
	size_t len;
	int fd;

	if (!path || !*path)
		return;
	len = strlen(path);
	if ((path[0] != '/' && path[0] != '@') || len >= sizeof sa.sun_path) {
		sv_warn("NOTIFY_SOCKET=%s is not a usable socket path; readiness not sent"
		    " there", path);
		return;
	}
	memset(&sa, 0, sizeof sa);
	sa.sun_family = AF_UNIX;
	memcpy(sa.sun_path, path, len);
	/* '@' names a socket in the abstract namespace: a leading NUL. */
	if (path[0] == '@')
		sa.sun_path[0] = 0;
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || sendto(fd, "READY=1", 7, MSG_NOSIGNAL, (struct sockaddr *)&sa,
	    (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len)) < 0)
		sv_warn("unable to send READY=1 to %s: %s", path, strerror(errno));
	if (fd >= 0)
		close(fd);
}

void
sv_readiness_check(void)
{
	unsigned i;

	if (sv.ready_sent || sv.stopping)
		return;
	for (i = 0; i < SV_MAX_SLOTS; i++)
		if (sv.workers[i].wanted && sv.workers[i].state != SV_W_READY)
			return;
	sv.ready_sent = 1;
	if (sv.notif_fd >= 0) {
		if (write(sv.notif_fd, "\n", 1) < 0)
			sv_warn("unable to write readiness to fd %d: %s", sv.notif_fd,
			    strerror(errno));
		close(sv.notif_fd);
		sv.notif_fd = -1;
	}
	notify_socket();
	sv_info("ready: %u worker%s serving, generation %llu", sv.want,
	    sv.want == 1 ? "" : "s", (unsigned long long)sv.gen);
}
