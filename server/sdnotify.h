/* sdnotify.h - systemd's readiness protocol (sd_notify(3)) without
 * libsystemd: one datagram to the AF_UNIX socket systemd names in
 * $NOTIFY_SOCKET. mdtboard.service is Type=notify: `serve` says READY=1
 * once it listens and the database answered (schema and key checked), and
 * STOPPING=1 when a signal starts the shutdown (docs/deploy.md). */
#ifndef MDT_SDNOTIFY_H
#define MDT_SDNOTIFY_H

/* Sends state ("READY=1\nSTATUS=...") to $NOTIFY_SOCKET: a path, or an
 * abstract socket when it starts with '@'. Returns 1 when sent, 0 when
 * NOTIFY_SOCKET is not set (not started by systemd), -1 when it is set but
 * the datagram could not be sent (errno says why). */
int mdt_sdnotify_send(const char *state);

#endif
