/* main.c - the one binary: `mdtboard serve|migrate|...`. Parses the
 * subcommand and hands over to the module that owns it. */
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "config.h"
#include "server.h"
#include "workers.h"

static void usage(void)
{
    printf("usage: mdtboard COMMAND [flags]\n\n"
           "commands:\n"
           "  serve            run the server\n"
           "  migrate          apply pending schema migrations\n"
           "%s"
           "\nEvery command reads MDT_DATABASE_URL (and most MDT_KEY_FILE); `mdtboard COMMAND\n"
           "--help` lists its flags.\n",
           mdt_cli_usage_lines());
}

static int cmd_serve(int argc, char **argv)
{
    mdt_config_t cfg;
    char err[256];
    int rc = mdt_config_load(&cfg, argc, argv, err, sizeof(err));
    if (rc == 1) {
        mdt_config_usage("mdtboard");
        return 0;
    }
    if (rc != 0) {
        fprintf(stderr, "mdtboard serve: %s\n", err);
        return 2;
    }
    rc = cfg.workers > 1 ? mdt_workers_run(&cfg) : mdt_server_run(&cfg);
    OPENSSL_cleanse(cfg.audit_key, sizeof(cfg.audit_key));
    return rc;
}

int main(int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
        strcmp(argv[1], "help") == 0) {
        usage();
        return argc < 2 ? 2 : 0;
    }
    if (strcmp(argv[1], "serve") == 0)
        return cmd_serve(argc - 1, argv + 1);
    int rc = mdt_cli_run(argc - 1, argv + 1);
    if (rc == MDT_CLI_UNKNOWN) {
        fprintf(stderr, "mdtboard: unknown command '%s' (see mdtboard --help)\n", argv[1]);
        return 2;
    }
    return rc;
}
