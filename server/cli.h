/* cli.h - the administrative subcommands (everything but `serve`): migrate,
 * agency add, user add, user reset-mfa, demo, audit verify, audit
 * checkpoint, keys init. Each opens its
 * own database connection from MDT_DATABASE_URL, prints its result on
 * stdout and errors on stderr, and returns the process exit status. */
#ifndef MDT_CLI_H
#define MDT_CLI_H

#define MDT_CLI_UNKNOWN (-100)

/* argv[0] is the subcommand. MDT_CLI_UNKNOWN when it is not one of ours. */
int mdt_cli_run(int argc, char **argv);
struct mdt_dbc;
/* Opens MDT_DATABASE_URL for the subcommand cmd. With keyed, it also loads
 * the installation key file (key_file, or MDT_KEY_FILE when NULL), checks it
 * against the database (mdt_keyring_verify) and takes the audit chain key
 * stored under it, so that the connection can append audit rows and seal
 * and open values (its keyring, freed with the connection). NULL after
 * printing why to stderr.
 * Close with mdt_dbc_close. */
struct mdt_dbc *mdt_cli_connect(const char *cmd, int keyed, const char *key_file);

/* Seals the rows that still hold plain text (an older installation's, the
 * demo seeder's) when MDT_KEY_FILE is set, printing progress lines; without
 * it, says how many rows wait. Returns the exit status (0 ok). */
int mdt_cli_seal_plain(const char *cmd);

/* Extra lines for `mdtboard --help`. */
const char *mdt_cli_usage_lines(void);

#endif
