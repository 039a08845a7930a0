/* demo.h - `mdtboard demo`: a realistic, obviously fictional installation
 * (the agencies of a Connecticut MDT, one account of every role, a dozen
 * cases in Stamford, Norwalk and Bridgeport with entries, action items,
 * protected details, consents, tracking data and services), loaded into an
 * empty database in one transaction. Used by scripts/run.sh. */
#ifndef MDT_DEMO_H
#define MDT_DEMO_H

/* argv[0] is "demo". Reads MDT_DATABASE_URL (and MDT_TIME_ZONE for "today").
 * Prints the logins on stdout; refuses (exit 1) when any agency exists. */
int mdt_demo_run(int argc, char **argv);

#endif
