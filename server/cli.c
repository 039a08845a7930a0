/* cli.c - administrative subcommands (see cli.h): migrate, agency add,
 * user add, user reset-mfa, audit verify, audit checkpoint, keys init,
 * keys rotate-kek, keys status, retention run.
 * Account changes go through
 * cli_accounts.c, the same code the admin API uses, and are audited with
 * the actor "cli" from the address "local". Usage errors exit 2, failures
 * 1; every message goes to stderr, results to stdout. */
#include "cli.h"

#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit.h"
#include "cli_accounts.h"
#include "db.h"
#include "demo.h"
#include "keyring.h"
#include "keys.h"
#include "sealfill.h"
#include "migrate.h"
#include "password.h"
#include "retention.h"

/* Checks c's keyring against the database (adopting the audit chain key
 * on first use) and gives c the stored audit chain key. 0 ok; -1 with err
 * set (also for a database that is not migrated yet). */
static int cli_key_connection(mdt_dbc_t *c, char *err, size_t errlen)
{
    unsigned char key[MDT_AUDIT_KEY_BYTES];
    int version = 0;
    char why[256];
    if (mdt_migrate_version(c, &version, why, sizeof(why)) != 0) {
        snprintf(err, errlen, "%s (a new database? run `mdtboard migrate` first)", why);
        return -1;
    }
    if (version < mdt_migrate_latest()) {
        snprintf(err, errlen,
                 "the database schema is at version %d, this binary needs %d: run `mdtboard "
                 "migrate` first",
                 version, mdt_migrate_latest());
        return -1;
    }
    if (mdt_keyring_verify(c->keyring, c, err, errlen) != 0 ||
        mdt_keyring_audit_key(c->keyring, c, key, err, errlen) != 0)
        return -1;
    mdt_dbc_set_audit_key(c, key);
    OPENSSL_cleanse(key, sizeof(key));
    return 0;
}

mdt_dbc_t *mdt_cli_connect(const char *cmd, int keyed, const char *key_file)
{
    const char *url = getenv("MDT_DATABASE_URL");
    if (!url || !*url) {
        fprintf(stderr, "mdtboard %s: MDT_DATABASE_URL is not set\n", cmd);
        return NULL;
    }
    char err[512];
    key_file = key_file ? key_file : getenv("MDT_KEY_FILE");
    if (keyed && (!key_file || !*key_file)) {
        fprintf(stderr, "mdtboard %s: MDT_KEY_FILE is not set (the installation key file)\n", cmd);
        return NULL;
    }
    mdt_keyring_t *kr = keyed ? mdt_keyring_load(key_file, err, sizeof(err)) : NULL;
    if (keyed && !kr) {
        fprintf(stderr, "mdtboard %s: %s\n", cmd, err);
        return NULL;
    }
    mdt_dbc_t *c = mdt_dbc_open(url, 0, err, sizeof(err));
    if (!c) {
        fprintf(stderr, "mdtboard %s: cannot connect: %s\n", cmd, err);
        mdt_keyring_free(kr);
        return NULL;
    }
    c->keyring = kr;
    c->keyring_free = mdt_keyring_free;
    if (keyed && cli_key_connection(c, err, sizeof(err)) != 0) {
        fprintf(stderr, "mdtboard %s: %s\n", cmd, err);
        mdt_dbc_close(c);
        return NULL;
    }
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

static void cli_seal_progress(const char *table, int64_t rows, void *ud)
{
    printf("%s: sealed %lld row%s of %s\n", (const char *)ud, (long long)rows, rows == 1 ? "" : "s",
           table);
    fflush(stdout);
}

/* Seals the rows that still hold plain text (an older installation's, the
 * demo seeder's) when MDT_KEY_FILE is set; without it, says how many wait.
 * The exit status. */
int mdt_cli_seal_plain(const char *cmd)
{
    const char *key_file = getenv("MDT_KEY_FILE");
    int64_t n = 0;
    int keyed = key_file && *key_file;
    mdt_dbc_t *c = mdt_cli_connect(cmd, keyed, NULL);
    if (!c)
        return 1;
    int rc = 0;
    if (keyed && mdt_sealfill_run(c, cli_seal_progress, (void *)cmd, &n) != MDT_DB_OK)
        rc = -1,
        fprintf(stderr, "mdtboard %s: sealing stopped (run it again): %s\n", cmd, c->error);
    else if (keyed && n > 0)
        printf("%s: %lld row%s sealed\n", cmd, (long long)n, n == 1 ? "" : "s");
    else if (!keyed && mdt_sealfill_count(c, &n) == MDT_DB_OK && n > 0)
        printf("%s: %lld row%s hold plain text: run `mdtboard migrate` with MDT_KEY_FILE set "
               "to seal them\n",
               cmd, (long long)n, n == 1 ? "" : "s");
    mdt_dbc_close(c);
    return rc == 0 ? 0 : 1;
}

static int cli_migrate(int argc, char **argv)
{
    if (wants_help(argc, argv)) {
        printf("usage: mdtboard migrate\n\nApplies pending schema migrations under an advisory "
               "lock and prints the schema version. Reads MDT_DATABASE_URL.\n");
        return 0;
    }
    mdt_dbc_t *c = mdt_cli_connect("migrate", 0, NULL);
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
    return mdt_cli_seal_plain("migrate");
}

/* ---- flags ---- */

typedef struct {
    const char *name;   /* "--name" */
    const char **value; /* takes a value; NULL for a switch */
    int *on;            /* for a switch */
} cli_flag_t;

/* Parses argv[from..] ("--flag VALUE", "--flag=VALUE", "--switch"). -1
 * after printing why on an unknown flag or a missing value. */
static int cli_flags(const char *cmd, int argc, char **argv, int from, const cli_flag_t *flags)
{
    for (int i = from; i < argc; i++) {
        const char *arg = argv[i], *eq = strchr(arg, '=');
        size_t n = eq ? (size_t)(eq - arg) : strlen(arg);
        const cli_flag_t *f = flags;
        while (f->name && (strlen(f->name) != n || strncmp(f->name, arg, n) != 0))
            f++;
        if (!f->name) {
            fprintf(stderr, "mdtboard %s: unknown argument '%s' (see --help)\n", cmd, arg);
            return -1;
        }
        if (!f->value) {
            *f->on = 1;
        } else if (eq) {
            *f->value = eq + 1;
        } else if (i + 1 < argc) {
            *f->value = argv[++i];
        } else {
            fprintf(stderr, "mdtboard %s: %s needs a value\n", cmd, f->name);
            return -1;
        }
    }
    return 0;
}

/* Prints which required flag is missing; -1 when one is. */
static int cli_require(const char *cmd, const char *flag, const char *value)
{
    if (value && *value)
        return 0;
    fprintf(stderr, "mdtboard %s: %s is required (see --help)\n", cmd, flag);
    return -1;
}

/* ---- running one audited change ---- */

typedef int (*cli_tx_fn)(mdt_dbc_t *c, void *arg, mdt_err_t *e);

static void cli_actor(mdt_audit_actor_t *a)
{
    memset(a, 0, sizeof(*a));
    snprintf(a->username, sizeof(a->username), "cli");
    snprintf(a->address, sizeof(a->address), "local");
}

/* Prints a database failure without libpq's trailing newline. */
static void cli_db_error(const char *cmd, const mdt_dbc_t *c, int rc)
{
    char msg[sizeof(c->error)];
    snprintf(msg, sizeof(msg), "%s", c->error[0] ? c->error : "database error");
    size_t n = strlen(msg);
    while (n && (msg[n - 1] == '\n' || msg[n - 1] == ' '))
        msg[--n] = 0;
    if (rc == MDT_DB_CONFLICT)
        fprintf(stderr, "mdtboard %s: conflicting change (already exists?): %s\n", cmd, msg);
    else
        fprintf(stderr, "mdtboard %s: %s\n", cmd, msg);
}

/* Connects, runs fn in one transaction and commits. The exit status: 0, or
 * 1 after printing why (a refusal in e, or the database's error). */
static int cli_tx(const char *cmd, cli_tx_fn fn, void *arg)
{
    mdt_dbc_t *c = mdt_cli_connect(cmd, 1, NULL);
    if (!c)
        return 1;
    mdt_err_t e = {0};
    int rc = mdt_db_begin(c, NULL);
    if (rc == MDT_DB_OK)
        rc = fn(c, arg, &e);
    if (rc == MDT_DB_OK && !e.status)
        rc = mdt_db_commit(c);
    else
        mdt_db_rollback(c);
    int status = rc != MDT_DB_OK || e.status ? 1 : 0;
    if (rc == MDT_DB_NOT_FOUND)
        fprintf(stderr, "mdtboard %s: %s\n", cmd, e.status ? e.message : "not found");
    else if (rc != MDT_DB_OK)
        cli_db_error(cmd, c, rc);
    else if (e.status)
        fprintf(stderr, "mdtboard %s: %s\n", cmd, e.message);
    mdt_dbc_close(c);
    return status;
}

/* The id of a created object, printed alone on stdout. */
static int64_t cli_id_of(json_t *obj)
{
    return json_integer_value(json_object_get(obj, "id"));
}

/* ---- agency add ---- */

typedef struct {
    const char *name;
    mdt_agency_kind_t kind;
} cli_agency_t;

static int cli_agency_add_tx(mdt_dbc_t *c, void *arg, mdt_err_t *e)
{
    cli_agency_t *a = arg;
    mdt_audit_actor_t actor;
    cli_actor(&actor);
    json_t *out = NULL, *current = NULL;
    int rc = mdt_accounts_agency_insert(c, &actor, a->name, a->kind, &out, &current, e);
    if (rc == MDT_DB_OK && !e->status)
        printf("%lld\n", (long long)cli_id_of(out));
    json_decref(out);
    json_decref(current);
    return rc;
}

static void cli_kind_list(char *out, size_t size)
{
    out[0] = 0;
    for (int i = 0; i < MDT_KIND_COUNT; i++) {
        size_t n = strlen(out);
        snprintf(out + n, size - n, "%s%s", i ? ", " : "",
                 mdt_authz_agency_kind_name((mdt_agency_kind_t)i));
    }
}

static int cli_agency_add(int argc, char **argv)
{
    const char *cmd = "agency add";
    char kinds[256];
    cli_kind_list(kinds, sizeof(kinds));
    if (wants_help(argc, argv)) {
        printf("usage: mdtboard agency add --name NAME --kind KIND\n\n"
               "Adds an agency and prints its id. Reads MDT_DATABASE_URL\n"
               "and MDT_KEY_FILE (the audit row is keyed).\n\n"
               "  --name NAME   the agency's name (1 to 200 characters, unique)\n"
               "  --kind KIND   one of: %s\n",
               kinds);
        return 0;
    }
    const char *name = NULL, *kind = NULL;
    cli_flag_t flags[] = {{"--name", &name, NULL}, {"--kind", &kind, NULL}, {NULL, NULL, NULL}};
    if (cli_flags(cmd, argc, argv, 2, flags) != 0 || cli_require(cmd, "--name", name) != 0 ||
        cli_require(cmd, "--kind", kind) != 0)
        return 2;
    cli_agency_t a = {.name = name};
    mdt_err_t e;
    if (mdt_accounts_check_text(name, "name", 200, &e) != 0) {
        fprintf(stderr, "mdtboard %s: %s\n", cmd, e.message);
        return 2;
    }
    if (mdt_authz_agency_kind_parse(kind, &a.kind) != 0) {
        fprintf(stderr, "mdtboard %s: --kind must be one of: %s\n", cmd, kinds);
        return 2;
    }
    return cli_tx(cmd, cli_agency_add_tx, &a);
}

/* ---- user add ---- */

typedef struct {
    const char *username, *display_name, *agency, *role;
    int password_stdin;
    mdt_accounts_new_user_t u;
    char password[MDT_PASSWORD_MAX_BYTES + 2];
    char hash[MDT_PASSWORD_HASH_MAX];
} cli_user_t;

static int cli_user_add_tx(mdt_dbc_t *c, void *arg, mdt_err_t *e)
{
    cli_user_t *u = arg;
    mdt_audit_actor_t actor;
    cli_actor(&actor);
    json_t *out = NULL, *current = NULL;
    int rc = mdt_accounts_user_insert(c, &actor, &u->u, &out, &current, e);
    if (rc == MDT_DB_OK && !e->status)
        printf("%lld\n", (long long)cli_id_of(out));
    json_decref(out);
    json_decref(current);
    return rc;
}

/* Reads one line from stdin into buf (without its line end). -1 and a
 * message when there is none or it is too long. */
static int cli_read_password(const char *cmd, char *buf, size_t size)
{
    if (!fgets(buf, (int)size, stdin)) {
        fprintf(stderr, "mdtboard %s: no password on standard input\n", cmd);
        return -1;
    }
    size_t n = strlen(buf);
    if (n && buf[n - 1] == '\n')
        buf[--n] = 0;
    else if (n == size - 1)
        n = size; /* no line end within the buffer: too long */
    if (n && n < size && buf[n - 1] == '\r')
        buf[--n] = 0;
    if (n > MDT_PASSWORD_MAX_BYTES) {
        fprintf(stderr, "mdtboard %s: the password is over %d bytes\n", cmd,
                MDT_PASSWORD_MAX_BYTES);
        return -1;
    }
    return 0;
}

/* Checks the flags into u->u; -1 after printing why. */
static int cli_user_check(const char *cmd, cli_user_t *u)
{
    mdt_err_t e;
    char *end;
    long long agency = strtoll(u->agency, &end, 10);
    if (mdt_accounts_check_username(u->username, &e) != 0 ||
        mdt_accounts_check_text(u->display_name, "display name", 200, &e) != 0) {
        fprintf(stderr, "mdtboard %s: %s\n", cmd, e.message);
        return -1;
    }
    if (*end || agency <= 0) {
        fprintf(stderr, "mdtboard %s: --agency-id must be a positive integer\n", cmd);
        return -1;
    }
    if (mdt_authz_role_parse(u->role, &u->u.role) != 0) {
        fprintf(stderr,
                "mdtboard %s: --role must be one of: member, interviewer, supervisor, "
                "admin\n",
                cmd);
        return -1;
    }
    if (!u->password_stdin) {
        fprintf(stderr,
                "mdtboard %s: --password-stdin is required (the password is read from "
                "standard input, never from the command line)\n",
                cmd);
        return -1;
    }
    u->u.username = u->username;
    u->u.display_name = u->display_name;
    u->u.agency_id = agency;
    return 0;
}

/* Reads, checks and hashes the password into u->hash. -1 after printing. */
static int cli_user_password(const char *cmd, cli_user_t *u)
{
    const char *why;
    if (cli_read_password(cmd, u->password, sizeof(u->password)) != 0)
        return -1;
    if (mdt_password_policy(u->password, &why) != 0) {
        fprintf(stderr, "mdtboard %s: %s\n", cmd, why);
        return -1;
    }
    if (mdt_password_hash(u->password, u->hash) != 0) {
        fprintf(stderr, "mdtboard %s: hashing the password failed\n", cmd);
        return -1;
    }
    u->u.password_hash = u->hash;
    return 0;
}

static int cli_user_add_run(int argc, char **argv, cli_user_t *u)
{
    const char *cmd = "user add";
    cli_flag_t flags[] = {{"--username", &u->username, NULL},
                          {"--display-name", &u->display_name, NULL},
                          {"--agency-id", &u->agency, NULL},
                          {"--role", &u->role, NULL},
                          {"--password-stdin", NULL, &u->password_stdin},
                          {NULL, NULL, NULL}};
    if (cli_flags(cmd, argc, argv, 2, flags) != 0 ||
        cli_require(cmd, "--username", u->username) != 0 ||
        cli_require(cmd, "--display-name", u->display_name) != 0 ||
        cli_require(cmd, "--agency-id", u->agency) != 0 ||
        cli_require(cmd, "--role", u->role) != 0 || cli_user_check(cmd, u) != 0)
        return 2;
    if (cli_user_password(cmd, u) != 0)
        return 1;
    return cli_tx(cmd, cli_user_add_tx, u);
}

static int cli_user_add(int argc, char **argv)
{
    if (wants_help(argc, argv)) {
        printf("usage: mdtboard user add --username U --display-name D --agency-id N --role ROLE "
               "--password-stdin\n\n"
               "Adds a user and prints its id. The password is the first line of standard\n"
               "input (at least 12 characters). Reads MDT_DATABASE_URL and MDT_KEY_FILE.\n\n"
               "  --username U        1 to 64 of A-Z a-z 0-9 . _ @ - (unique, case ignored)\n"
               "  --display-name D    the name others see (1 to 200 characters)\n"
               "  --agency-id N       an active agency (see `mdtboard agency add`)\n"
               "  --role ROLE         member, interviewer, supervisor or admin\n"
               "  --password-stdin    read the password from standard input\n");
        return 0;
    }
    cli_user_t *u = calloc(1, sizeof(*u));
    if (!u) {
        fprintf(stderr, "mdtboard user add: out of memory\n");
        return 1;
    }
    int status = cli_user_add_run(argc, argv, u);
    OPENSSL_cleanse(u, sizeof(*u));
    free(u);
    return status;
}

/* ---- user reset-mfa ---- */

static int cli_reset_mfa_tx(mdt_dbc_t *c, void *arg, mdt_err_t *e)
{
    const char *username = arg;
    mdt_db_params_t p;
    mdt_db_params_init(&p);
    mdt_db_param_str(&p, username);
    PGresult *r =
        mdt_db_query(c, "SELECT id, username FROM users WHERE lower(username) = lower($1)", &p);
    if (!r)
        return c->status;
    int64_t id = PQntuples(r) == 1 ? mdt_db_int(r, 0, 0) : 0;
    char name[72] = "";
    if (id)
        snprintf(name, sizeof(name), "%s", mdt_db_str(r, 0, 1));
    PQclear(r);
    if (!id) {
        mdt_err_set(e, 404, "not_found", "username", "no user named '%s'", username);
        return MDT_DB_OK;
    }
    mdt_audit_actor_t actor;
    cli_actor(&actor);
    json_t *out = NULL;
    int rc = mdt_accounts_reset_mfa(c, &actor, id, &out);
    if (rc == MDT_DB_OK)
        printf("two-factor sign-in cleared for %s (user %lld)\n", name, (long long)id);
    json_decref(out);
    return rc;
}

static int cli_user_reset_mfa(int argc, char **argv)
{
    const char *cmd = "user reset-mfa";
    if (wants_help(argc, argv)) {
        printf("usage: mdtboard user reset-mfa --username U\n\n"
               "Clears the user's TOTP enrolment (they enrol again at the next sign-in when\n"
               "their agency requires it). Reads MDT_DATABASE_URL and MDT_KEY_FILE.\n\n"
               "  --username U   the user (case ignored)\n");
        return 0;
    }
    const char *username = NULL;
    cli_flag_t flags[] = {{"--username", &username, NULL}, {NULL, NULL, NULL}};
    if (cli_flags(cmd, argc, argv, 2, flags) != 0 || cli_require(cmd, "--username", username) != 0)
        return 2;
    return cli_tx(cmd, cli_reset_mfa_tx, (void *)username);
}

/* ---- audit verify, audit checkpoint ---- */

/* Reads a checkpoint file into cp. -1 after printing why. */
static int cli_read_checkpoint(const char *cmd, const char *path, mdt_audit_checkpoint_t *cp)
{
    char buf[1024];
    FILE *f = fopen(path, "r");
    size_t n = f ? fread(buf, 1, sizeof(buf) - 1, f) : 0;
    if (f)
        fclose(f);
    buf[n] = 0;
    if (!f || mdt_audit_checkpoint_parse(buf, cp) != 0) {
        fprintf(stderr, "mdtboard %s: %s is not readable or holds no \"audit checkpoint\" line\n",
                cmd, path);
        return -1;
    }
    return 0;
}

/* Connects with the key and verifies into rep. The exit status so far: 0
 * intact, 1 after printing the first bad row or the error. */
static int cli_verify(const char *cmd, const char *key_file, const mdt_audit_checkpoint_t *cp,
                      mdt_audit_report_t *rep)
{
    mdt_dbc_t *c = mdt_cli_connect(cmd, 1, key_file);
    if (!c)
        return 1;
    char err[512];
    int rc = mdt_audit_verify(c, c->audit_key, cp, rep, err, sizeof(err));
    mdt_dbc_close(c);
    if (rc == 1)
        fprintf(stderr, "audit chain broken at row %lld: %s\n", (long long)rep->bad_id, rep->why);
    else if (rc != 0)
        fprintf(stderr, "mdtboard %s: %s\n", cmd, err);
    return rc == 0 ? 0 : 1;
}

static int cli_audit_verify(int argc, char **argv)
{
    const char *cmd = "audit verify";
    if (wants_help(argc, argv)) {
        printf("usage: mdtboard audit verify [--key-file FILE] [--checkpoint FILE]\n\n"
               "Walks the audit log: every row's link to the one before, its hash (plain\n"
               "SHA-256 before the switch-over row, HMAC-SHA-256 under the installation key\n"
               "after it), and that the last row is the head the ledger records. Prints\n"
               "\"audit chain ok: N rows\" and exits 0, or prints \"audit chain broken at row\n"
               "ID: why\" on stderr and exits 1. Reads MDT_DATABASE_URL and MDT_KEY_FILE.\n\n"
               "  --key-file FILE     the installation key file (default MDT_KEY_FILE)\n"
               "  --checkpoint FILE   also check that the row a checkpoint names (from\n"
               "                      `mdtboard audit checkpoint`) is still there, unchanged\n");
        return 0;
    }
    const char *key_file = NULL, *cp_file = NULL;
    cli_flag_t flags[] = {
        {"--key-file", &key_file, NULL}, {"--checkpoint", &cp_file, NULL}, {NULL, NULL, NULL}};
    if (cli_flags(cmd, argc, argv, 2, flags) != 0)
        return 2;
    mdt_audit_checkpoint_t cp;
    if (cp_file && cli_read_checkpoint(cmd, cp_file, &cp) != 0)
        return 2;
    mdt_audit_report_t rep;
    int status = cli_verify(cmd, key_file, cp_file ? &cp : NULL, &rep);
    if (status == 0)
        printf("audit chain ok: %lld rows\n", (long long)rep.rows);
    if (status == 0 && cp_file)
        printf("checkpoint row %lld: ok\n", (long long)cp.id);
    return status;
}

static int cli_audit_checkpoint(int argc, char **argv)
{
    const char *cmd = "audit checkpoint";
    if (wants_help(argc, argv)) {
        printf("usage: mdtboard audit checkpoint [--key-file FILE]\n\n"
               "Verifies the audit log (as `audit verify` does), then prints its head as one\n"
               "line, \"audit checkpoint id=N hash=H at=T\". Keep that line outside the\n"
               "database (a ticket, a printout, another system): `audit verify --checkpoint\n"
               "FILE` later proves that row is still there, unchanged. Exits 1 when the log\n"
               "does not verify. Reads MDT_DATABASE_URL and MDT_KEY_FILE.\n\n"
               "  --key-file FILE   the installation key file (default MDT_KEY_FILE)\n");
        return 0;
    }
    const char *key_file = NULL;
    cli_flag_t flags[] = {{"--key-file", &key_file, NULL}, {NULL, NULL, NULL}};
    if (cli_flags(cmd, argc, argv, 2, flags) != 0)
        return 2;
    mdt_audit_report_t rep;
    int status = cli_verify(cmd, key_file, NULL, &rep);
    if (status == 0) {
        char line[256];
        mdt_audit_checkpoint_format(&rep.head, line, sizeof(line));
        printf("%s\n", line);
    }
    return status;
}

/* ---- keys init ---- */

static int cli_keys_init(int argc, char **argv)
{
    const char *cmd = "keys init";
    if (wants_help(argc, argv)) {
        printf("usage: mdtboard keys init --file PATH\n\n"
               "Creates the installation key file (mode 0600) with a fresh random secret\n"
               "and prints its key id. Never overwrites an existing file. serve, audit\n"
               "verify and every audited command read it from MDT_KEY_FILE. Keep it out\n"
               "of the database and back it up separately (docs/operations.md).\n\n"
               "  --file PATH   where to create the key file\n");
        return 0;
    }
    const char *file = NULL;
    cli_flag_t flags[] = {{"--file", &file, NULL}, {NULL, NULL, NULL}};
    if (cli_flags(cmd, argc, argv, 2, flags) != 0 || cli_require(cmd, "--file", file) != 0)
        return 2;
    char err[512], id[2 * MDT_KEYS_ID_BYTES + 1];
    if (mdt_keys_create(file, id, err, sizeof(err)) != 0) {
        fprintf(stderr, "mdtboard %s: %s\n", cmd, err);
        return 1;
    }
    printf("key file %s created (key id %s)\n", file, id);
    return 0;
}

/* ---- keys status ---- */

/* Prints the data keys per KEK key id, the audit chain key's, and the rows
 * still in plain text. */
static int keys_status_print(mdt_dbc_t *c)
{
    int64_t plain = 0;
    mdt_db_params_t p;
    mdt_db_params_init(&p);
    mdt_db_param_int(&p, MDT_KEYRING_AUDIT_OWNER);
    PGresult *r =
        mdt_db_query(c,
                     "SELECT kek_id, count(*) FILTER (WHERE owner > 0),"
                     " count(*) FILTER (WHERE owner = 0), count(*) FILTER (WHERE owner = $1)"
                     " FROM data_keys GROUP BY kek_id ORDER BY kek_id",
                     &p);
    if (!r || mdt_sealfill_count(c, &plain) != MDT_DB_OK) {
        PQclear(r);
        return -1;
    }
    printf("this key file: key id %s, the key of this database\n", mdt_keyring_kek_id(c->keyring));
    int audit = 0;
    for (int i = 0; i < PQntuples(r); i++) {
        int64_t cases = mdt_db_int(r, i, 1);
        audit += (int)mdt_db_int(r, i, 3);
        printf("data keys wrapped by key id %s: %lld (%lld case key%s, %lld installation key, "
               "%lld audit chain key)\n",
               mdt_db_str(r, i, 0), (long long)(cases + mdt_db_int(r, i, 2) + mdt_db_int(r, i, 3)),
               (long long)cases, cases == 1 ? "" : "s", (long long)mdt_db_int(r, i, 2),
               (long long)mdt_db_int(r, i, 3));
    }
    if (PQntuples(r) == 0)
        printf("data keys: none yet\n");
    printf("audit chain key: %s\n", audit ? "stored, wrapped under a key file's KEK" : "missing");
    printf("rows holding plain text: %lld%s\n", (long long)plain,
           plain ? " (`mdtboard migrate` with MDT_KEY_FILE seals them)" : "");
    PQclear(r);
    return 0;
}

static int cli_keys_status(int argc, char **argv)
{
    const char *cmd = "keys status";
    if (wants_help(argc, argv)) {
        printf("usage: mdtboard keys status\n\n"
               "Checks MDT_KEY_FILE against the database, then prints how many data keys\n"
               "each key-encryption key wraps (case keys, the installation key, the audit\n"
               "chain key), whether the audit chain key is stored, and how many rows still\n"
               "hold plain text. Reads MDT_DATABASE_URL and MDT_KEY_FILE.\n");
        return 0;
    }
    if (argc > 2) {
        fprintf(stderr, "mdtboard %s: unknown argument '%s'\n", cmd, argv[2]);
        return 2;
    }
    mdt_dbc_t *c = mdt_cli_connect(cmd, 1, NULL);
    if (!c)
        return 1;
    int rc = keys_status_print(c);
    if (rc != 0)
        fprintf(stderr, "mdtboard %s: %s\n", cmd, c->error);
    mdt_dbc_close(c);
    return rc == 0 ? 0 : 1;
}

/* ---- keys rotate-kek ---- */

#define ROTATE_BATCH     200
#define ROTATE_BATCH_MAX 10000

/* Adds --new to c's keyring (which holds --old), then checks that the
 * database's key is one of the two. 0 ok (*done_before set when it is
 * already --new: an earlier run moved kek_check); -1 after printing why. */
static int rotate_prepare(mdt_dbc_t *c, const char *old_file, const char *old_id,
                          const char *new_file, char new_id[2 * MDT_KEYS_ID_BYTES + 1],
                          int *done_before)
{
    const char *cmd = "keys rotate-kek";
    char err[512];
    int added = mdt_keyring_add_file(c->keyring, new_file, new_id, err, sizeof(err));
    if (added != 0) {
        fprintf(stderr, "mdtboard %s: --new %s: %s\n", cmd, new_file,
                added == 1 ? "it is the same key as --old (nothing to rotate)" : err);
        return -1;
    }
    PGresult *r = mdt_db_query(c, "SELECT kek_id FROM kek_check", NULL);
    int got = r != NULL;
    char db_id[2 * MDT_KEYS_ID_BYTES + 1] = "";
    if (got && PQntuples(r) == 1)
        snprintf(db_id, sizeof(db_id), "%s", mdt_db_str(r, 0, 0));
    PQclear(r);
    if (got && *db_id && strcmp(db_id, old_id) != 0 && strcmp(db_id, new_id) != 0) {
        fprintf(stderr,
                "mdtboard %s: --old %s (key id %s) is not the key of this database (its keys "
                "are wrapped by key id %s); nothing changed\n",
                cmd, old_file, old_id, db_id);
        return -1;
    }
    if (!got || mdt_keyring_verify(c->keyring, c, err, sizeof(err)) != 0) {
        fprintf(stderr, "mdtboard %s: %s; nothing changed\n", cmd, got ? err : c->error);
        return -1;
    }
    *done_before = strcmp(db_id, new_id) == 0;
    return 0;
}

/* Re-wraps every data key under old_id in batches, printing progress, then
 * moves kek_check. 0 ok; -1 after printing why (safe to run again). */
static int rotate_run(mdt_dbc_t *c, const char *old_id, const char *new_id, int batch)
{
    const char *cmd = "keys rotate-kek";
    long long total = 0;
    int rc = MDT_DB_OK;
    for (int round = 0; round < 10; round++) {
        int n = 1;
        while (rc == MDT_DB_OK && n > 0) {
            rc = mdt_keyring_rewrap_batch(c->keyring, c, old_id, batch, &n);
            total += rc == MDT_DB_OK ? n : 0;
            if (rc == MDT_DB_OK && n > 0)
                printf("%s: re-wrapped %lld data key%s under key id %s\n", cmd, total,
                       total == 1 ? "" : "s", new_id);
            fflush(stdout);
        }
        if (rc == MDT_DB_OK)
            rc = mdt_keyring_move_check(c->keyring, c, old_id);
        if (rc != MDT_DB_CONFLICT)
            break;
        rc = MDT_DB_OK; /* a node wrapped a key under the old KEK meanwhile */
    }
    if (rc != MDT_DB_OK) {
        fprintf(stderr, "mdtboard %s: stopped (run it again: done rows are skipped): %s\n", cmd,
                rc == MDT_DB_CONFLICT ? "nodes keep wrapping keys under the old key id: send "
                                        "them SIGHUP with the new key file first"
                                      : c->error);
        return -1;
    }
    printf("%s: done: %lld data key%s re-wrapped; the database's key is now key id %s\n", cmd,
           total, total == 1 ? "" : "s", new_id);
    return 0;
}

static int cli_keys_rotate(int argc, char **argv)
{
    const char *cmd = "keys rotate-kek";
    if (wants_help(argc, argv)) {
        printf("usage: mdtboard keys rotate-kek --old PATH --new PATH [--batch N]\n\n"
               "Re-wraps every data key (case keys, the installation key, the audit chain\n"
               "key) from the key-encryption key of --old to that of --new, in batches (one\n"
               "short transaction each, with a progress line), then makes --new the\n"
               "database's key (kek_check). Online: give every node the new file first\n"
               "(MDT_KEY_FILE and SIGHUP, docs/operations.md). Safe to interrupt and run\n"
               "again. Nothing but the data keys is decrypted; no content row changes.\n"
               "Reads MDT_DATABASE_URL.\n\n"
               "  --old PATH   the key file the database uses now (mode 0600)\n"
               "  --new PATH   the new key file, made with `mdtboard keys init` (mode 0600)\n"
               "  --batch N    data keys per transaction, 1 to %d (default %d)\n",
               ROTATE_BATCH_MAX, ROTATE_BATCH);
        return 0;
    }
    const char *old_file = NULL, *new_file = NULL, *batch_s = NULL;
    cli_flag_t flags[] = {{"--old", &old_file, NULL},
                          {"--new", &new_file, NULL},
                          {"--batch", &batch_s, NULL},
                          {NULL, NULL, NULL}};
    if (cli_flags(cmd, argc, argv, 2, flags) != 0 || cli_require(cmd, "--old", old_file) != 0 ||
        cli_require(cmd, "--new", new_file) != 0)
        return 2;
    char *end = NULL;
    long batch = batch_s ? strtol(batch_s, &end, 10) : ROTATE_BATCH;
    if (batch_s && (*batch_s == 0 || *end != 0 || batch < 1 || batch > ROTATE_BATCH_MAX)) {
        fprintf(stderr, "mdtboard %s: --batch must be a number from 1 to %d\n", cmd,
                ROTATE_BATCH_MAX);
        return 2;
    }
    char err[512], new_id[2 * MDT_KEYS_ID_BYTES + 1];
    mdt_keyring_t *kr = mdt_keyring_load(old_file, err, sizeof(err));
    if (!kr) {
        fprintf(stderr, "mdtboard %s: --old %s\n", cmd, err);
        return 1;
    }
    char old_id[2 * MDT_KEYS_ID_BYTES + 1];
    snprintf(old_id, sizeof(old_id), "%s", mdt_keyring_kek_id(kr));
    mdt_dbc_t *c = mdt_cli_connect(cmd, 0, NULL);
    if (!c) {
        mdt_keyring_free(kr);
        return 1;
    }
    c->keyring = kr;
    c->keyring_free = mdt_keyring_free;
    int done_before = 0;
    int rc = rotate_prepare(c, old_file, old_id, new_file, new_id, &done_before);
    if (rc == 0 && done_before)
        printf("%s: the database's key is already key id %s; re-wrapping what is left\n", cmd,
               new_id);
    if (rc == 0)
        rc = rotate_run(c, old_id, new_id, (int)batch);
    mdt_dbc_close(c);
    return rc == 0 ? 0 : 1;
}

/* ---- retention run ---- */

/* "case NUMBER (id N), closed DATE: what" on stdout. */
static void retention_line(const mdt_retention_case_t *k, const char *what)
{
    printf("case %s (id %lld), closed %s: %s\n", k->number, (long long)k->id, k->closed, what);
    fflush(stdout);
}

/* Purges (or, dry, lists) the candidates; counts[0..2]: purged (or would
 * be), skipped, failed. */
static void retention_each(mdt_dbc_t *c, const mdt_retention_t *ret, const char *label, int dry,
                           const mdt_retention_case_t *ks, int n, int counts[3])
{
    mdt_audit_actor_t actor;
    cli_actor(&actor);
    for (int i = 0; i < n; i++) {
        const mdt_retention_case_t *k = &ks[i];
        char what[sizeof(k->hold_by) + 96];
        mdt_purge_result_t res = MDT_PURGE_SKIPPED;
        int rc = MDT_DB_OK;
        if (k->hold)
            snprintf(what, sizeof(what), "skipped: legal hold (set by %s on %s)", k->hold_by,
                     k->hold_on);
        else if (dry)
            snprintf(what, sizeof(what), "would purge");
        else if ((rc = mdt_retention_purge(c, &actor, ret, label, k->id, &res)) != MDT_DB_OK)
            snprintf(what, sizeof(what), "failed: %.*s", (int)strcspn(c->error, "\n"), c->error);
        else
            snprintf(what, sizeof(what), "%s",
                     res == MDT_PURGE_DONE ? "purged"
                                           : "skipped: no longer due (changed meanwhile)");
        counts[rc != MDT_DB_OK ? 2 : (dry && !k->hold) || res == MDT_PURGE_DONE ? 0 : 1]++;
        retention_line(k, what);
    }
}

static int cli_retention_run(int argc, char **argv)
{
    const char *cmd = "retention run";
    if (wants_help(argc, argv)) {
        printf("usage: mdtboard retention run [--dry-run]\n\n"
               "Purges the closed cases whose closing date plus MDT_RETENTION (7y, 18m, 90d;\n"
               "off by default) has passed, skipping cases under a legal hold: their content\n"
               "and data key are deleted, a tombstone and the audit trail stay\n"
               "(docs/retention.md). --dry-run lists what a run would do and changes nothing.\n"
               "Reads MDT_DATABASE_URL, MDT_KEY_FILE, MDT_RETENTION and MDT_TIME_ZONE.\n");
        return 0;
    }
    int dry = 0;
    const cli_flag_t flags[] = {{"--dry-run", NULL, &dry}, {NULL, NULL, NULL}};
    if (cli_flags(cmd, argc, argv, 2, flags) != 0)
        return 2;
    mdt_retention_t ret;
    char err[256];
    const char *label = getenv("MDT_RETENTION");
    if (mdt_config_retention(label, &ret, err, sizeof(err)) != 0) {
        fprintf(stderr, "mdtboard %s: %s\n", cmd, err);
        return 2;
    }
    if (!ret.months && !ret.days) {
        printf("MDT_RETENTION is off: no case is purged (set it, e.g. MDT_RETENTION=7y)\n");
        return 0;
    }
    mdt_dbc_t *c = mdt_cli_connect(cmd, !dry, NULL);
    if (!c)
        return 1;
    const char *tz = getenv("MDT_TIME_ZONE");
    mdt_retention_case_t *ks = NULL;
    int n = 0, counts[3] = {0, 0, 0};
    /* a keyed connection has checked the key file against the database (the
     * audit rows are keyed: never under another installation's key) */
    int rc = mdt_retention_candidates(c, &ret, tz && *tz ? tz : "America/New_York", &ks, &n);
    if (rc != MDT_DB_OK)
        cli_db_error(cmd, c, rc);
    else
        retention_each(c, &ret, label, dry, ks, n, counts);
    if (rc == MDT_DB_OK)
        printf("retention %s: %d case%s %s, %d skipped, %d failed\n", label, counts[0],
               counts[0] == 1 ? "" : "s", dry ? "would be purged" : "purged", counts[1], counts[2]);
    free(ks);
    mdt_dbc_close(c);
    return rc != MDT_DB_OK || counts[2] ? 1 : 0;
}

/* ---- dispatch ---- */

typedef struct {
    const char *group, *verb;
    int (*run)(int argc, char **argv);
    const char *usage; /* one line of `mdtboard --help` */
} cli_cmd_t;

static const cli_cmd_t cli_cmds[] = {
    {"agency", "add", cli_agency_add, "  agency add       add an agency (prints its id)\n"},
    {"user", "add", cli_user_add,
     "  user add         add a user, password from stdin (prints its id)\n"},
    {"user", "reset-mfa", cli_user_reset_mfa, "  user reset-mfa   clear a user's TOTP enrolment\n"},
    {"audit", "verify", cli_audit_verify, "  audit verify     check the audit log's hash chain\n"},
    {"audit", "checkpoint", cli_audit_checkpoint,
     "  audit checkpoint print the audit log's verified head to keep elsewhere\n"},
    {"keys", "init", cli_keys_init, "  keys init        create the installation key file\n"},
    {"keys", "rotate-kek", cli_keys_rotate,
     "  keys rotate-kek  re-wrap every data key under a new key file (online)\n"},
    {"keys", "status", cli_keys_status,
     "  keys status      check the key file; data keys per KEK; rows not yet sealed\n"},
    {"retention", "run", cli_retention_run,
     "  retention run    purge closed cases past MDT_RETENTION (--dry-run: list them)\n"},
    {NULL, NULL, NULL, NULL},
};

const char *mdt_cli_usage_lines(void)
{
    static char lines[2048];
    if (!lines[0]) {
        for (const cli_cmd_t *c = cli_cmds; c->group; c++)
            strncat(lines, c->usage, sizeof(lines) - strlen(lines) - 1);
    }
    return lines;
}

/* `mdtboard GROUP` without a known verb: lists the group's commands. */
static int cli_group_usage(const char *group, const char *verb)
{
    int help = verb && (strcmp(verb, "--help") == 0 || strcmp(verb, "-h") == 0);
    FILE *out = help ? stdout : stderr;
    if (!help)
        fprintf(out, verb ? "mdtboard %s: unknown command '%s'\n" : "mdtboard %s: what to do?\n",
                group, verb);
    fprintf(out, "usage:\n");
    for (const cli_cmd_t *c = cli_cmds; c->group; c++) {
        if (strcmp(c->group, group) == 0)
            fprintf(out, "  mdtboard %s %s --help\n", c->group, c->verb);
    }
    return help ? 0 : 2;
}

int mdt_cli_run(int argc, char **argv)
{
    if (strcmp(argv[0], "demo") == 0) /* demo.c */
        return mdt_demo_run(argc, argv);
    if (strcmp(argv[0], "migrate") == 0)
        return cli_migrate(argc, argv);
    int known_group = 0;
    for (const cli_cmd_t *c = cli_cmds; c->group; c++) {
        if (strcmp(argv[0], c->group) != 0)
            continue;
        known_group = 1;
        if (argc > 1 && strcmp(argv[1], c->verb) == 0)
            return c->run(argc, argv);
    }
    return known_group ? cli_group_usage(argv[0], argc > 1 ? argv[1] : NULL) : MDT_CLI_UNKNOWN;
}
