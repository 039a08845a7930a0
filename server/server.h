/* server.h - running `mdtboard serve`: the composition root that starts
 * and stops every module (server.c). The context it builds is
 * server_ctx.h. */
#ifndef MDT_SERVER_H
#define MDT_SERVER_H

#include "config.h"

/* Runs `mdtboard serve` with cfg until SIGTERM/SIGINT; returns the exit status. */
int mdt_server_run(const mdt_config_t *cfg);

#endif
