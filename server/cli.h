/* cli.h - the administrative subcommands (everything but `serve`): migrate,
 * agency add, user add, user reset-mfa, demo, audit verify. Each opens its
 * own database connection from MDT_DATABASE_URL, prints its result on
 * stdout and errors on stderr, and returns the process exit status. */
#ifndef MDT_CLI_H
#define MDT_CLI_H

#define MDT_CLI_UNKNOWN (-100)

/* argv[0] is the subcommand. MDT_CLI_UNKNOWN when it is not one of ours. */
int mdt_cli_run(int argc, char **argv);
/* Extra lines for `mdtboard --help`. */
const char *mdt_cli_usage_lines(void);

#endif
