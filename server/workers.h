/* workers.h - `mdtboard serve` as MDT_WORKERS processes on one port.
 *
 * With MDT_WORKERS > 1 the process started as `serve` becomes a
 * supervisor: it forks that many workers, each running the ordinary
 * server (mdt_server_run) as a node of its own, all listening on the same
 * address and port with SO_REUSEPORT so the kernel spreads new connections
 * over them. Every piece of shared state is in PostgreSQL (the live feed is
 * LISTEN/NOTIFY), exactly as for several nodes (docs/scaling.md).
 *
 * The supervisor owns the signals and systemd's readiness protocol: it
 * says READY=1 once every worker reported ready over its pipe, forwards
 * SIGTERM/SIGINT/SIGHUP to the workers, restarts a worker that dies after
 * start-up (up to WORKERS_RESTART_MAX in WORKERS_RESTART_WINDOW_S seconds),
 * and stops everything when a worker fails to start (docs/architecture.md
 * "Process model"). */
#ifndef MDT_WORKERS_H
#define MDT_WORKERS_H

#include "config.h"

/* Supervises cfg->workers (> 1) worker processes until they have all
 * stopped; returns the exit status: 0 when a stop signal drained every
 * worker with status 0, 1 when a worker failed to start, died too often,
 * or did not stop cleanly. */
int mdt_workers_run(const mdt_config_t *cfg);

/* A worker's own listening socket on cfg's address and port, with
 * SO_REUSEPORT so that every worker binds one (Debian's libwebsockets sets
 * SO_REUSEPORT only with several service threads, which it is built
 * without: server.c accepts on this socket and hands each connection to
 * lws). Non-blocking, close-on-exec; the caller closes it. Returns the fd,
 * or -1 with a message in err. */
int mdt_workers_listen(const mdt_config_t *cfg, char *err, size_t errlen);

#endif
