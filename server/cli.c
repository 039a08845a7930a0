/* cli.c - administrative subcommands (see cli.h). */
#include "cli.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db.h"
#include "migrate.h"

/* Opens MDT_DATABASE_URL or prints why not; NULL on failure. */
static mdt_dbc_t *cli_connect(const char *cmd)
{
    const char *url = getenv("MDT_DATABASE_URL");
    if (!url || !*url) {
        fprintf(stderr, "mdtboard %s: MDT_DATABASE_URL is not set\n", cmd);
        return NULL;
    }
    char err[256];
    mdt_dbc_t *c = mdt_dbc_open(url, 0, err, sizeof(err));
    if (!c)
        fprintf(stderr, "mdtboard %s: cannot connect: %s\n", cmd, err);
    return c;
}

static int wants_help(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)
            return 1;
    }
    return 0;
}

static int cli_migrate(int argc, char **argv)
{
    if (wants_help(argc, argv)) {
        printf("usage: mdtboard migrate\n\nApplies pending schema migrations under an advisory "
               "lock and prints the schema version. Reads MDT_DATABASE_URL.\n");
        return 0;
    }
    mdt_dbc_t *c = cli_connect("migrate");
    if (!c)
        return 1;
    char err[512];
    int applied = 0, version = 0;
    int rc = mdt_migrate_apply(c, &applied, &version, err, sizeof(err));
    mdt_dbc_close(c);
    if (rc != 0) {
        fprintf(stderr, "mdtboard migrate: %s\n", err);
        return 1;
    }
    printf("schema version %d (%d migration%s applied)\n", version, applied,
           applied == 1 ? "" : "s");
    return 0;
}

const char *mdt_cli_usage_lines(void)
{
    return "";
}

int mdt_cli_run(int argc, char **argv)
{
    if (strcmp(argv[0], "migrate") == 0)
        return cli_migrate(argc, argv);
    return MDT_CLI_UNKNOWN;
}
