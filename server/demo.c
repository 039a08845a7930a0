/* demo.c - `mdtboard demo` (see demo.h).
 *
 * Everything is fictional: agency and people names are made up (display
 * names carry "(demo)"), phone numbers are 555 numbers, addresses are on
 * Example streets. The content is written with plain parameterized SQL on
 * the CLI's own connection, in one transaction, the way the endpoints would
 * write it: Markdown rendered by mdt_markdown_render, passwords hashed by
 * mdt_password_hash, a version row wherever the shape keeps history, one
 * audit row per change (actor "demo") and the event the change would have
 * emitted. Dates are relative to today in MDT_TIME_ZONE, so some action
 * items are always overdue and one consent has always just expired. The
 * tables below are the whole demo; the functions after them only write them. */
#include "demo.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit.h"
#include "authz.h"
#include "cli.h"
#include "db.h"
#include "events.h"
#include "markdown.h"
#include "password.h"

/* ---- the installation ---- */

enum { AG_CAC, AG_DCF, AG_SPD, AG_SA, AG_MED, AG_MH, AG_VA, AG_LEGAL, AG_COUNT };
#define B(a)   (1u << (a))
#define AG_ALL ((1u << AG_COUNT) - 1u)

static const struct {
    const char *name, *kind;
} AGENCIES[AG_COUNT] = {
    {"Harborview Child Advocacy Center", "cac"},
    {"DCF Region 1 Bridgeport", "child_welfare"},
    {"Stamford Police Department", "law_enforcement"},
    {"Judicial District State's Attorney", "prosecution"},
    {"Lighthouse Pediatric Clinic", "medical"},
    {"Coastal Behavioral Health", "mental_health"},
    {"Safe Harbor Victim Advocates", "victim_advocacy"},
    {"Connecticut Refugee & Immigrant Legal Aid", "immigration_legal"},
};

enum {
    U_ADMIN,
    U_CAC_SUP,
    U_CAC_INT,
    U_DCF_SUP,
    U_DCF,
    U_SPD_SUP,
    U_SPD,
    U_SA,
    U_MED,
    U_MH,
    U_VA,
    U_LEGAL_SUP,
    U_LEGAL,
    U_COUNT
};

static const struct {
    const char *username, *display, *password;
    int agency;
    const char *role;
} USERS[U_COUNT] = {
    {"demo.admin", "Avery Admin (demo)", "demo.admin-demo-pw", AG_CAC, "admin"},
    {"cac.supervisor", "Morgan Ellery (demo)", "cac.supervisor-demo-pw", AG_CAC, "supervisor"},
    {"cac.interviewer", "Robin Castellan (demo)", "cac.interviewer-demo-pw", AG_CAC, "interviewer"},
    {"dcf.supervisor", "Dana Whitcombe (demo)", "dcf.supervisor-demo-pw", AG_DCF, "supervisor"},
    {"dcf.worker", "Jordan Pell (demo)", "dcf.worker-demo-pw", AG_DCF, "member"},
    {"spd.sergeant", "Sgt. Casey Marlow (demo)", "spd.sergeant-demo-pw", AG_SPD, "supervisor"},
    {"spd.detective", "Det. Riley Fenwick (demo)", "spd.detective-demo-pw", AG_SPD, "member"},
    {"sa.prosecutor", "Quinn Halvorsen (demo)", "sa.prosecutor-demo-pw", AG_SA, "member"},
    {"clinic.nurse", "Sam Okafor (demo)", "clinic.nurse-demo-pw", AG_MED, "member"},
    {"coastal.therapist", "Alex Moreau (demo)", "coastal.therapist-demo-pw", AG_MH, "member"},
    {"advocate", "Jamie Northcott (demo)", "advocate-demo-pw", AG_VA, "member"},
    {"legalaid.supervisor", "Teresa Vance (demo)", "legalaid.supervisor-demo-pw", AG_LEGAL,
     "supervisor"},
    {"legalaid.attorney", "Luis Carvalho (demo)", "legalaid.attorney-demo-pw", AG_LEGAL, "member"},
};

/* ---- cases ---- */

enum {
    HERON,
    KESTREL,
    SPARROW,
    WREN,
    OSPREY,
    PLOVER,
    TERN,
    EGRET,
    CURLEW,
    FINCH,
    LARK,
    STARLING,
    N_CASES
};

typedef struct {
    const char *number, *alias, *status, *municipality;
    int referral_days; /* before today */
    int creator;       /* a supervisor; its agency leads */
    unsigned agencies; /* the lead included */
    int related;       /* another case, or -1 */
    const char *tracking;
} demo_case_t;

#define TRACK(abuse, ttype, gender, age, race, lang, offenders, charges, disp, cp, med, mh)        \
    "{\"abuse_types\":[" abuse "],\"trafficking_type\":\"" ttype                                   \
    "\",\"child\":{\"gender\":\"" gender "\",\"age_group\":\"" age "\",\"race_ethnicity\":[" race  \
    "],\"language\":\"" lang "\"},\"alleged_offenders\":[" offenders                               \
    "],\"outcomes\":{\"charges_filed\":" charges ",\"criminal_disposition\":" disp                 \
    ",\"child_protection_outcome\":" cp ",\"medical_referral\":\"" med                             \
    "\",\"mental_health_referral\":\"" mh "\"}}"
#define OFFENDER(rel, gender, age)                                                                 \
    "{\"relationship\":\"" rel "\",\"gender\":\"" gender "\",\"age_range\":\"" age "\"}"

static const demo_case_t CASES[N_CASES] = {
    [HERON] = {"HCAC-2026-014", "Heron", "active", "Stamford", 41, U_CAC_SUP, AG_ALL, TERN,
               TRACK("\"labor_trafficking\",\"physical_abuse\"", "labor", "male", "13-17",
                     "\"hispanic_latino\"", "Spanish", OFFENDER("employer", "male", "30-39"),
                     "false", "null", "null", "completed", "engaged")},
    [KESTREL] = {"HCAC-2026-015", "Kestrel", "referred", "Norwalk", 6, U_CAC_SUP,
                 B(AG_CAC) | B(AG_DCF) | B(AG_SPD) | B(AG_MED), -1,
                 TRACK("\"sexual_abuse\"", "none", "female", "6-12", "\"white\"", "English",
                       OFFENDER("relative", "male", "40-49"), "false", "null", "null", "referred",
                       "not_needed")},
    [SPARROW] = {"HCAC-2025-088", "Sparrow", "monitoring", "Bridgeport", 160, U_CAC_SUP,
                 B(AG_CAC) | B(AG_DCF) | B(AG_MH) | B(AG_VA), -1,
                 TRACK("\"sex_trafficking\",\"exploitation_online\"", "sex", "female", "13-17",
                       "\"black\"", "English", OFFENDER("intimate_partner", "male", "18-24"),
                       "true", "\"pending\"", "\"in_home_services\"", "completed", "engaged")},
    [WREN] = {"DCF-R1-26-0231", "Wren", "active", "Bridgeport", 33, U_DCF_SUP,
              B(AG_DCF) | B(AG_CAC) | B(AG_SPD) | B(AG_SA) | B(AG_VA) | B(AG_LEGAL), FINCH,
              TRACK("\"sex_trafficking\"", "sex", "female", "13-17", "\"hispanic_latino\"",
                    "Spanish", OFFENDER("acquaintance", "male", "25-29"), "false", "null", "null",
                    "engaged", "referred")},
    [OSPREY] = {"DCF-R1-26-0240", "Osprey", "active", "Norwalk", 19, U_DCF_SUP,
                B(AG_DCF) | B(AG_CAC) | B(AG_MED) | B(AG_MH), -1,
                TRACK("\"neglect\",\"physical_abuse\"", "none", "male", "0-5", "\"white\"",
                      "English", OFFENDER("parent", "female", "25-29"), "false", "null",
                      "\"out_of_home_placement\"", "completed", "referred")},
    [PLOVER] = {"DCF-R1-25-1187", "Plover", "closed", "Stamford", 290, U_DCF_SUP,
                B(AG_DCF) | B(AG_CAC) | B(AG_SPD), -1,
                TRACK("\"exploitation_online\"", "unknown", "female", "13-17", "\"asian\"",
                      "English", OFFENDER("stranger", "unknown", "unknown"), "false",
                      "\"no_charges\"", "\"case_closed\"", "not_needed", "completed")},
    [TERN] = {"SPD-26-004417", "Tern", "active", "Stamford", 27, U_SPD_SUP,
              B(AG_SPD) | B(AG_CAC) | B(AG_DCF) | B(AG_SA) | B(AG_VA), HERON,
              TRACK("\"labor_trafficking\"", "labor", "male", "13-17", "\"hispanic_latino\"",
                    "Spanish",
                    OFFENDER("employer", "male", "30-39") "," OFFENDER("acquaintance", "female",
                                                                       "40-49"),
                    "true", "\"pending\"", "null", "declined", "referred")},
    [EGRET] = {"SPD-26-005102", "Egret", "referred", "Stamford", 3, U_SPD_SUP,
               B(AG_SPD) | B(AG_CAC) | B(AG_SA) | B(AG_LEGAL), -1,
               TRACK("\"sex_trafficking\"", "sex", "female", "13-17", "\"black\"", "Haitian Creole",
                     OFFENDER("acquaintance", "male", "25-29"), "false", "null", "null", "referred",
                     "referred")},
    [CURLEW] = {"SPD-25-019876", "Curlew", "monitoring", "Norwalk", 120, U_SPD_SUP,
                B(AG_SPD) | B(AG_CAC) | B(AG_DCF), -1,
                TRACK("\"exploitation_online\",\"sexual_abuse\"", "none", "male", "6-12",
                      "\"white\"", "English", OFFENDER("stranger", "male", "unknown"), "true",
                      "\"convicted\"", "null", "completed", "completed")},
    [FINCH] = {"CRILA-26-031", "Finch", "active", "Bridgeport", 52, U_LEGAL_SUP,
               B(AG_LEGAL) | B(AG_CAC) | B(AG_DCF) | B(AG_VA) | B(AG_MED), WREN,
               TRACK("\"labor_trafficking\",\"neglect\"", "labor", "female", "13-17",
                     "\"hispanic_latino\"", "K'iche'", OFFENDER("relative", "male", "40-49"),
                     "false", "null", "\"in_home_services\"", "engaged", "engaged")},
    [LARK] = {"CRILA-26-036", "Lark", "referred", "Stamford", 9, U_LEGAL_SUP,
              B(AG_LEGAL) | B(AG_CAC) | B(AG_MH), -1,
              TRACK("\"labor_trafficking\"", "unknown", "male", "18+", "\"asian\"", "Nepali",
                    OFFENDER("employer", "male", "50+"), "false", "null", "null", "not_needed",
                    "referred")},
    [STARLING] = {"HCAC-2026-017", "Starling", "active", "Bridgeport", 14, U_CAC_SUP,
                  B(AG_CAC) | B(AG_SPD) | B(AG_SA) | B(AG_MED) | B(AG_VA), -1,
                  TRACK("\"sexual_abuse\",\"exploitation_online\"", "none", "female", "13-17",
                        "\"white\",\"hispanic_latino\"", "English",
                        OFFENDER("acquaintance", "male", "18-24"), "false", "null", "null",
                        "completed", "engaged")},
};

/* ---- entries ---- */

typedef struct {
    int kase, author, days_ago;
    const char *kind, *visibility;
    unsigned visible_to;
    const char *body;
    const char *disclosure, *recording; /* interviews */
} demo_entry_t;

static const demo_entry_t ENTRIES[] = {
    {HERON, U_CAC_SUP, 40, "note", "mdt", 0,
     "**Referral** from Westhill school counselor: student reports working nights at a "
     "restaurant to repay a \"travel debt\"; falls asleep in class.\n\nMDT review scheduled "
     "for Thursday.",
     NULL, NULL},
    {HERON, U_CAC_INT, 36, "interview", "mdt", 0,
     "Forensic interview completed with a Spanish-speaking interviewer present.\n\n- Describes "
     "12-hour shifts, wages withheld\n- Employer keeps his passport\n- No disclosure of sexual "
     "abuse",
     "partial", "HCAC-REC-2026-0311"},
    {HERON, U_SPD, 30, "note", "agency", 0,
     "Subpoena for the restaurant's payroll records submitted. Do not discuss with the "
     "employer's family (possible witness contact).",
     NULL, NULL},
    {HERON, U_SA, 21, "update", "agencies", B(AG_SPD) | B(AG_CAC),
     "Reviewed the file with the detective; waiting for payroll records before deciding on "
     "charges under C.G.S. 53a-192a.",
     NULL, NULL},
    {HERON, U_LEGAL, 18, "update", "mdt", 0,
     "Screened for immigration relief: eligible for a **T visa**; SIJS also possible. "
     "Certification request to police will follow.",
     NULL, NULL},
    {HERON, U_CAC_SUP, 7, "decision", "mdt", 0,
     "MDT decision: child stays with sponsor; weekly check-ins by DCF; advocate to accompany "
     "to clinic follow-up.",
     NULL, NULL},
    {KESTREL, U_CAC_SUP, 5, "note", "mdt", 0,
     "New referral from the DCF Careline. Forensic interview requested for next week.", NULL, NULL},
    {KESTREL, U_MED, 2, "update", "mdt", 0,
     "Medical exam scheduled at Lighthouse clinic; caregiver informed.", NULL, NULL},
    {SPARROW, U_CAC_SUP, 150, "note", "mdt", 0,
     "Referral after a runaway episode; online recruitment suspected.", NULL, NULL},
    {SPARROW, U_CAC_INT, 145, "interview", "mdt", 0,
     "Full disclosure of exploitation arranged through a social media contact.", "full",
     "HCAC-REC-2025-1920"},
    {SPARROW, U_MH, 40, "update", "mdt", 0,
     "Attending weekly TF-CBT sessions; school attendance improving.", NULL, NULL},
    {SPARROW, U_DCF, 12, "update", "mdt", 0,
     "Moved to monitoring: stable placement with aunt, safety plan reviewed.", NULL, NULL},
    {WREN, U_DCF_SUP, 32, "note", "mdt", 0,
     "Careline report from a Bridgeport hospital: 15-year-old brought in by an adult who left "
     "before staff could identify him.",
     NULL, NULL},
    {WREN, U_CAC_INT, 28, "interview", "mdt", 0,
     "Interview with interpreter. Partial disclosure; child fearful of retaliation.", "partial",
     "HCAC-REC-2026-0298"},
    {WREN, U_SPD, 25, "note", "agencies", B(AG_SA),
     "Phone extraction returned; identified two numbers linked to a prior investigation.", NULL,
     NULL},
    {WREN, U_VA, 10, "update", "mdt", 0,
     "Crime victim compensation forms started; court accompaniment offered.", NULL, NULL},
    {OSPREY, U_DCF, 18, "note", "mdt", 0,
     "Emergency removal; child placed with a licensed foster family in Norwalk.", NULL, NULL},
    {OSPREY, U_MED, 15, "update", "mdt", 0,
     "Skeletal survey complete; findings shared with DCF. Follow-up in two weeks.", NULL, NULL},
    {PLOVER, U_DCF, 280, "note", "mdt", 0, "Online enticement report forwarded by NCMEC.", NULL,
     NULL},
    {PLOVER, U_DCF_SUP, 30, "decision", "mdt", 0,
     "Case closed: services completed, no further safety concerns.", NULL, NULL},
    {TERN, U_SPD_SUP, 26, "note", "mdt", 0,
     "Linked to the Heron investigation (same employer). Joint review with the CAC.", NULL, NULL},
    {TERN, U_CAC_INT, 22, "interview", "mdt", 0,
     "Interview completed; consistent account of withheld wages and threats of deportation.",
     "full", "HCAC-REC-2026-0305"},
    {TERN, U_SA, 8, "update", "agencies", B(AG_SPD),
     "Arrest warrant application for the employer drafted; reviewing with the supervisor.", NULL,
     NULL},
    {EGRET, U_SPD, 2, "note", "mdt", 0,
     "Patrol located the child at a Stamford motel during a welfare check. Interview requested "
     "through the CAC.",
     NULL, NULL},
    {CURLEW, U_SPD, 110, "note", "mdt", 0,
     "Offender identified through an ICAC referral; search warrant executed.", NULL, NULL},
    {CURLEW, U_DCF, 20, "update", "mdt", 0, "Family engaged with services; monitoring monthly.",
     NULL, NULL},
    {FINCH, U_LEGAL_SUP, 50, "note", "mdt", 0,
     "Referred by a Bridgeport school: 16-year-old working at a relative's farm stand instead "
     "of attending school; arrived as an unaccompanied minor.",
     NULL, NULL},
    {FINCH, U_CAC_INT, 45, "interview", "mdt", 0,
     "Interview through a K'iche' interpreter (remote). No disclosure of abuse; describes long "
     "work hours and debt.",
     "none", "HCAC-REC-2026-0277"},
    {FINCH, U_LEGAL, 11, "update", "agency", 0,
     "Drafting the SIJS petition; need the state court predicate order first.", NULL, NULL},
    {LARK, U_LEGAL_SUP, 8, "note", "mdt", 0,
     "Intake: 19-year-old recruited for construction work with false promises; now in a "
     "shelter.",
     NULL, NULL},
    {STARLING, U_CAC_SUP, 13, "note", "mdt", 0,
     "Referral after images were shared at school. Police and SA notified.", NULL, NULL},
    {STARLING, U_CAC_INT, 9, "interview", "mdt", 0,
     "Interview completed; disclosure of coercion by an older acquaintance.", "full",
     "HCAC-REC-2026-0330"},
};

/* ---- action items ---- */

#define NO_DUE    (-9999)
#define NO_PERSON (-1)

typedef struct {
    int kase, creator, assignee, assignee_agency, due_days; /* due: days from today */
    const char *status, *visibility, *title, *details;
} demo_action_t;

static const demo_action_t ACTIONS[] = {
    {HERON, U_CAC_SUP, U_SPD, AG_SPD, -6, "open", "mdt", "Obtain payroll records",
     "Subpoena returned? Share a summary with the SA."},
    {HERON, U_CAC_SUP, U_LEGAL, AG_LEGAL, 10, "in_progress", "mdt",
     "File T visa application (I-914)", "Include the law-enforcement declaration if available."},
    {HERON, U_CAC_SUP, U_VA, AG_VA, -2, "open", "mdt", "Accompany child to clinic follow-up", ""},
    {HERON, U_LEGAL_SUP, NO_PERSON, AG_SPD, 14, "open", "mdt",
     "Sign the I-914 Supplement B declaration", "Request from the legal aid attorney."},
    {HERON, U_MED, U_MED, AG_MED, -20, "done", "mdt", "Wrist fracture follow-up", ""},
    {KESTREL, U_CAC_SUP, U_CAC_INT, AG_CAC, 4, "open", "mdt", "Schedule forensic interview", ""},
    {KESTREL, U_CAC_SUP, U_MED, AG_MED, -1, "open", "mdt", "Complete medical exam report", ""},
    {SPARROW, U_CAC_SUP, U_MH, AG_MH, 21, "in_progress", "mdt", "Quarterly treatment summary", ""},
    {WREN, U_DCF_SUP, U_SPD, AG_SPD, -9, "in_progress", "mdt",
     "Identify the adult who brought the child to the hospital", "Hospital camera footage."},
    {WREN, U_DCF_SUP, U_LEGAL, AG_LEGAL, 7, "open", "mdt", "Immigration screening", ""},
    {WREN, U_SPD_SUP, U_SA, AG_SA, 3, "open", "agencies", "Review phone extraction report",
     "Visible to police and SA only."},
    {OSPREY, U_DCF_SUP, U_DCF, AG_DCF, -3, "open", "mdt",
     "Court filing for order of temporary "
     "custody",
     ""},
    {OSPREY, U_DCF_SUP, U_MH, AG_MH, 12, "open", "mdt", "Developmental screening", ""},
    {TERN, U_SPD_SUP, U_SPD, AG_SPD, -4, "open", "mdt", "Interview second witness", ""},
    {TERN, U_SPD_SUP, U_VA, AG_VA, 5, "open", "mdt", "Victim notification letter", ""},
    {EGRET, U_SPD_SUP, U_CAC_SUP, AG_CAC, 2, "open", "mdt", "Schedule forensic interview", ""},
    {EGRET, U_SPD_SUP, NO_PERSON, AG_LEGAL, 9, "open", "mdt", "Immigration screening", ""},
    {CURLEW, U_SPD_SUP, U_DCF, AG_DCF, 30, "open", "mdt", "Monthly home visit", ""},
    {FINCH, U_LEGAL_SUP, U_DCF, AG_DCF, -12, "open", "mdt",
     "Refer to juvenile court for SIJS predicate findings", ""},
    {FINCH, U_LEGAL_SUP, U_VA, AG_VA, 6, "in_progress", "mdt", "Enroll in school (McKinney-Vento)",
     ""},
    {LARK, U_LEGAL_SUP, U_MH, AG_MH, 8, "open", "mdt", "Trauma assessment", ""},
    {STARLING, U_CAC_SUP, U_SPD, AG_SPD, -5, "open", "mdt", "Preserve social media accounts",
     "Preservation letters to the platforms."},
    {STARLING, U_CAC_SUP, U_VA, AG_VA, NO_DUE, "open", "mdt", "Safety planning with caregiver", ""},
};

/* ---- protected details (the category objects, every field given) ---- */

typedef struct {
    int kase;
    const char *identity, *contact, *immigration, *health, *language;
} demo_pii_t;

#define IMM_NONE                                                                                   \
    "{\"status\":null,\"country_of_birth\":\"United States\",\"foreign_born\":false,"              \
    "\"unaccompanied_minor\":false,\"pending_applications\":[]}"

static const demo_pii_t PII[] = {
    {HERON, "{\"legal_name\":\"Mateo Demo-Ruiz\",\"date_of_birth\":\"2009-06-02\"}",
     "{\"address\":\"12 Example Lane, Apt 3, Stamford, CT 06901\",\"phone\":\"203-555-0143\","
     "\"school\":\"Westhill Demo High School\"}",
     "{\"status\":\"T visa application pending\",\"country_of_birth\":\"Guatemala\","
     "\"foreign_born\":true,\"unaccompanied_minor\":true,"
     "\"pending_applications\":[\"T visa (I-914)\",\"SIJS (I-360)\"]}",
     "{\"notes\":\"Healed wrist fracture; follow-up in 4 weeks.\"}",
     "{\"preferred\":\"Spanish\",\"interpreter_needed\":true}"},
    {WREN, "{\"legal_name\":\"Lucia Demo-Santos\",\"date_of_birth\":\"2010-11-19\"}",
     "{\"address\":\"48 Sample Street, Bridgeport, CT 06604\",\"phone\":\"203-555-0178\","
     "\"school\":\"Demo Middle School\"}",
     "{\"status\":\"Lawful permanent resident\",\"country_of_birth\":\"Honduras\","
     "\"foreign_born\":true,\"unaccompanied_minor\":false,\"pending_applications\":[]}",
     "{\"notes\":null}", "{\"preferred\":\"Spanish\",\"interpreter_needed\":true}"},
    {TERN, "{\"legal_name\":\"Diego Demo-Ramos\",\"date_of_birth\":\"2008-02-27\"}",
     "{\"address\":\"7 Placeholder Court, Stamford, CT 06902\",\"phone\":\"203-555-0121\","
     "\"school\":null}",
     "{\"status\":\"Asylum application pending\",\"country_of_birth\":\"El Salvador\","
     "\"foreign_born\":true,\"unaccompanied_minor\":true,\"pending_applications\":[\"I-589\"]}",
     "{\"notes\":null}", "{\"preferred\":\"Spanish\",\"interpreter_needed\":false}"},
    {FINCH, "{\"legal_name\":\"Ixchel Demo-Tzoc\",\"date_of_birth\":\"2009-09-09\"}",
     "{\"address\":\"301 Example Avenue, Bridgeport, CT 06605\",\"phone\":\"203-555-0199\","
     "\"school\":\"Demo Harbor High School\"}",
     "{\"status\":\"Released to sponsor (ORR)\",\"country_of_birth\":\"Guatemala\","
     "\"foreign_born\":true,\"unaccompanied_minor\":true,"
     "\"pending_applications\":[\"SIJS (I-360)\"]}",
     "{\"notes\":\"Vision screening recommended.\"}",
     "{\"preferred\":\"K'iche'\",\"interpreter_needed\":true}"},
    {KESTREL, "{\"legal_name\":\"Emma Demo-Larkin\",\"date_of_birth\":\"2016-04-30\"}",
     "{\"address\":\"22 Sample Road, Norwalk, CT 06850\",\"phone\":\"203-555-0110\","
     "\"school\":\"Demo Elementary School\"}",
     IMM_NONE, "{\"notes\":null}", "{\"preferred\":\"English\",\"interpreter_needed\":false}"},
};

/* ---- consents: one active, one expired, one revoked (and one more active) ---- */

#define NOT_REVOKED (-1)

typedef struct {
    int kase, granted_by, agency; /* granted_by: a user of the owner agency */
    const char *categories, *consented_by, *purpose, *document_ref;
    int signed_days_ago, expires_in_days, revoked_days_ago;
} demo_consent_t;

static const demo_consent_t CONSENTS[] = {
    {HERON, U_LEGAL, AG_SPD, "{immigration}",
     "[{\"role\":\"minor\",\"name\":\"Mateo Demo-Ruiz\"},"
     "{\"role\":\"sponsor\",\"name\":\"Ana Demo-Ruiz\"}]",
     "T visa certification (I-914 Supplement B) with the investigating agency", "CRILA-C-0142", 10,
     120, NOT_REVOKED},
    {HERON, U_MED, AG_MH, "{health}", "[{\"role\":\"sponsor\",\"name\":\"Ana Demo-Ruiz\"}]",
     "Medical findings for trauma-focused treatment planning", "LPC-ROI-2291", 200, -5,
     NOT_REVOKED},
    {HERON, U_CAC_SUP, AG_VA, "{identity,contact}",
     "[{\"role\":\"sponsor\",\"name\":\"Ana Demo-Ruiz\"}]",
     "Victim compensation application and court accompaniment", "HCAC-ROI-0877", 30, 150, 3},
    {WREN, U_DCF_SUP, AG_SPD, "{identity,contact}",
     "[{\"role\":\"custodian\",\"name\":\"DCF Region 1 (demo)\"}]",
     "Locate and interview the child for the criminal investigation", "DCF-ROI-26-311", 20, 60,
     NOT_REVOKED},
};

/* ---- services ---- */

typedef struct {
    int kase, author, days_ago, minutes;
    const char *category, *service, *note, *visibility;
} demo_service_t;

static const demo_service_t SERVICES[] = {
    {HERON, U_VA, 30, 60, "personal_advocacy", "Intake and needs assessment", NULL, "mdt"},
    {HERON, U_LEGAL, 18, 90, "immigration_legal", "Immigration relief screening", NULL, "mdt"},
    {HERON, U_MED, 35, 45, "medical", "Medical evaluation", NULL, "mdt"},
    {HERON, U_MH, 14, 50, "mental_health", "Trauma-focused therapy session", NULL, "mdt"},
    {KESTREL, U_CAC_SUP, 4, 30, "information_referral", "Caregiver orientation to the CAC", NULL,
     "mdt"},
    {SPARROW, U_VA, 140, 120, "shelter_housing", "Emergency shelter placement", NULL, "mdt"},
    {SPARROW, U_MH, 40, 50, "mental_health", "TF-CBT session", NULL, "mdt"},
    {WREN, U_VA, 10, 75, "criminal_civil_justice", "Victim compensation application", NULL, "mdt"},
    {WREN, U_LEGAL, 6, 60, "immigration_legal", "Consultation on status", "Follow-up booked.",
     "agency"},
    {OSPREY, U_MED, 15, 40, "medical", "Skeletal survey", NULL, "mdt"},
    {TERN, U_VA, 20, 45, "emotional_support_safety", "Safety planning", NULL, "mdt"},
    {EGRET, U_SPD, 2, 30, "information_referral", "Referral to the CAC", NULL, "mdt"},
    {FINCH, U_VA, 40, 90, "personal_advocacy", "School enrollment support", NULL, "mdt"},
    {FINCH, U_LEGAL, 30, 120, "immigration_legal", "SIJS intake", NULL, "mdt"},
    {LARK, U_LEGAL_SUP, 8, 60, "shelter_housing", "Shelter referral", NULL, "mdt"},
    {STARLING, U_VA, 8, 40, "emotional_support_safety", "Crisis support call", NULL, "mdt"},
};

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

/* ---- writing it ---- */

typedef struct {
    mdt_dbc_t *c;
    const char *tz; /* MDT_TIME_ZONE: "today" */
    mdt_audit_actor_t actor;
    int64_t agency[AG_COUNT];
    int64_t user[U_COUNT];
    int64_t kase[N_CASES];
    char hash[U_COUNT][MDT_PASSWORD_HASH_MAX];
} demo_t;

/* Runs sql; the bigint in row 0, column 0, or -1 (d->c->status tells). */
static int64_t demo_id(demo_t *d, const char *sql, const mdt_db_params_t *p)
{
    PGresult *r = mdt_db_query(d->c, sql, p);
    if (!r)
        return -1;
    int64_t id = PQntuples(r) > 0 ? mdt_db_int(r, 0, 0) : -1;
    PQclear(r);
    return id;
}

/* The audit row (actor "demo") and, when event_kind is given, the event the
 * change would have emitted. detail is stolen. */
static int demo_record(demo_t *d, int64_t case_id, const char *action, const char *object_type,
                       int64_t object_id, const char *event_kind, int64_t actor_id, json_t *detail)
{
    mdt_audit_rec_t rec = {.action = action,
                           .object_type = object_type,
                           .object_id = object_id,
                           .case_id = case_id,
                           .detail = detail};
    if (!event_kind) {
        int rc = mdt_audit_append(d->c, &d->actor, &rec);
        json_decref(detail);
        return rc;
    }
    json_t *data = json_pack("{s:s, s:I}", "object_type", object_type, "id", (json_int_t)object_id);
    mdt_event_t ev = {.case_id = case_id,
                      .kind = event_kind,
                      .object_type = object_type,
                      .object_id = object_id,
                      .actor_id = actor_id,
                      .data = data};
    int rc = mdt_audit_append_event(d->c, &d->actor, &rec, &ev);
    json_decref(detail);
    json_decref(data);
    return rc;
}

/* "{1,2}" for the agencies in mask (lead first); fills ids/kinds. */
static size_t demo_case_agencies(const demo_t *d, const demo_case_t *k, int64_t *ids,
                                 mdt_agency_kind_t *kinds)
{
    int lead = USERS[k->creator].agency;
    size_t n = 0;
    ids[n] = d->agency[lead];
    mdt_authz_agency_kind_parse(AGENCIES[lead].kind, &kinds[n++]);
    for (int a = 0; a < AG_COUNT; a++) {
        if (a == lead || !(k->agencies & B(a)))
            continue;
        ids[n] = d->agency[a];
        mdt_authz_agency_kind_parse(AGENCIES[a].kind, &kinds[n++]);
    }
    return n;
}

static void ids_text(const int64_t *ids, size_t n, char *out, size_t len)
{
    size_t k = (size_t)snprintf(out, len, "{");
    for (size_t i = 0; i < n && k < len; i++)
        k += (size_t)snprintf(out + k, len - k, "%s%lld", i ? "," : "", (long long)ids[i]);
    if (k < len)
        snprintf(out + k, len - k, "}");
}

static void mask_text(const demo_t *d, unsigned mask, char *out, size_t len)
{
    int64_t ids[AG_COUNT];
    size_t n = 0;
    for (int a = 0; a < AG_COUNT; a++) {
        if (mask & B(a))
            ids[n++] = d->agency[a];
    }
    ids_text(ids, n, out, len);
}

static int demo_agencies(demo_t *d)
{
    for (int a = 0; a < AG_COUNT; a++) {
        mdt_db_params_t p;
        mdt_db_params_init(&p);
        mdt_db_param_str(&p, AGENCIES[a].name);
        mdt_db_param_str(&p, AGENCIES[a].kind);
        d->agency[a] =
            demo_id(d, "INSERT INTO agencies (name, kind) VALUES ($1, $2) RETURNING id", &p);
        if (d->agency[a] < 0)
            return d->c->status;
        int rc = demo_record(d, 0, "agency.create", "agency", d->agency[a], NULL, 0,
                             json_pack("{s:s}", "kind", AGENCIES[a].kind));
        if (rc != MDT_DB_OK)
            return rc;
    }
    return MDT_DB_OK;
}

static int demo_users(demo_t *d)
{
    for (int u = 0; u < U_COUNT; u++) {
        mdt_db_params_t p;
        mdt_db_params_init(&p);
        mdt_db_param_str(&p, USERS[u].username);
        mdt_db_param_str(&p, USERS[u].display);
        mdt_db_param_int(&p, d->agency[USERS[u].agency]);
        mdt_db_param_str(&p, USERS[u].role);
        mdt_db_param_str(&p, d->hash[u]);
        d->user[u] = demo_id(d,
                             "INSERT INTO users (username, display_name, agency_id, role,"
                             " password_hash) VALUES ($1, $2, $3, $4, $5) RETURNING id",
                             &p);
        if (d->user[u] < 0)
            return d->c->status;
        int rc = demo_record(d, 0, "user.create", "user", d->user[u], NULL, 0,
                             json_pack("{s:s, s:I}", "role", USERS[u].role, "target_agency_id",
                                       (json_int_t)d->agency[USERS[u].agency]));
        if (rc != MDT_DB_OK)
            return rc;
    }
    return MDT_DB_OK;
}

static int demo_case(demo_t *d, int i)
{
    const demo_case_t *k = &CASES[i];
    int64_t ids[AG_COUNT], owners[MDT_PII_COUNT];
    mdt_agency_kind_t kinds[AG_COUNT];
    size_t n = demo_case_agencies(d, k, ids, kinds);
    mdt_authz_default_pii_owners(ids[0], ids, kinds, n, owners);
    char agencies[256];
    ids_text(ids, n, agencies, sizeof(agencies));
    mdt_db_params_t p;
    mdt_db_params_init(&p);
    mdt_db_param_str(&p, k->number);
    mdt_db_param_str(&p, k->alias);
    mdt_db_param_str(&p, k->status);
    mdt_db_param_str(&p, k->municipality);
    mdt_db_param_int(&p, k->referral_days);
    mdt_db_param_int(&p, ids[0]);
    for (int c = 0; c < MDT_PII_COUNT; c++)
        mdt_db_param_int(&p, owners[c]);
    mdt_db_param_int(&p, d->user[k->creator]);
    mdt_db_param_str(&p, d->tz);
    mdt_db_param_str(&p, agencies);
    d->kase[i] = demo_id(
        d,
        "WITH k AS (INSERT INTO cases (case_number, alias, status, municipality, referral_date,"
        " lead_agency_id, pii_owner_identity, pii_owner_contact, pii_owner_immigration,"
        " pii_owner_health, created_by, created_at, updated_at) VALUES ($1, $2, $3, $4,"
        " (now() AT TIME ZONE $12)::date - $5::int, $6, $7, $8, $9, $10, $11,"
        " now() - make_interval(days => $5::int), now() - make_interval(days => $5::int))"
        " RETURNING id, created_at),"
        " m AS (INSERT INTO case_agencies (case_id, agency_id, added_at)"
        " SELECT k.id, unnest($13::bigint[]), k.created_at FROM k)"
        " SELECT id FROM k",
        &p);
    if (d->kase[i] < 0)
        return d->c->status;
    json_t *detail = json_pack("{s:o, s:s}", "agencies", json_array(), "status", k->status);
    for (size_t a = 0; a < n; a++)
        json_array_append_new(json_object_get(detail, "agencies"), json_integer(ids[a]));
    return demo_record(d, d->kase[i], "case.create", "case", d->kase[i], "case.updated",
                       d->user[k->creator], detail);
}

/* Links related cases (after all exist): a second version of each. */
static int demo_related(demo_t *d)
{
    for (int i = 0; i < N_CASES; i++) {
        if (CASES[i].related < 0)
            continue;
        char rel[32];
        ids_text(&d->kase[CASES[i].related], 1, rel, sizeof(rel));
        mdt_db_params_t p;
        mdt_db_params_init(&p);
        mdt_db_param_int(&p, d->kase[i]);
        mdt_db_param_str(&p, rel);
        int rc = mdt_db_exec(d->c,
                             "UPDATE cases SET related_case_ids = $2::bigint[],"
                             " version = version + 1 WHERE id = $1",
                             &p);
        if (rc == MDT_DB_OK)
            rc = demo_record(d, d->kase[i], "case.update", "case", d->kase[i], "case.updated",
                             d->user[CASES[i].creator],
                             json_pack("{s:[s]}", "fields", "related_case_ids"));
        if (rc != MDT_DB_OK)
            return rc;
    }
    return MDT_DB_OK;
}

static int demo_cases(demo_t *d)
{
    for (int i = 0; i < N_CASES; i++) {
        int rc = demo_case(d, i);
        if (rc != MDT_DB_OK)
            return rc;
    }
    return demo_related(d);
}

static int demo_entry(demo_t *d, const demo_entry_t *en)
{
    char *html = NULL, vis[128];
    if (mdt_markdown_render(en->body, strlen(en->body), &html) != 0)
        return MDT_DB_ERROR;
    mask_text(d, en->visible_to, vis, sizeof(vis));
    int64_t case_id = d->kase[en->kase], author = d->user[en->author];
    mdt_db_params_t p;
    mdt_db_params_init(&p);
    mdt_db_param_int(&p, case_id);
    mdt_db_param_str(&p, en->kind);
    mdt_db_param_int(&p, author);
    mdt_db_param_int(&p, d->agency[USERS[en->author].agency]);
    mdt_db_param_str(&p, en->body);
    mdt_db_param_str(&p, html);
    mdt_db_param_str(&p, en->visibility);
    mdt_db_param_str(&p, vis);
    mdt_db_param_int(&p, en->days_ago);
    mdt_db_param_str(&p, en->disclosure);
    mdt_db_param_str(&p, en->recording);
    mdt_db_param_str(&p, d->tz);
    int64_t id = demo_id(
        d,
        "WITH e AS (INSERT INTO entries (case_id, kind, author_id, agency_id, body_md, body_html,"
        " visibility, visible_to, interview, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7,"
        " $8::bigint[], CASE WHEN $10::text IS NULL THEN NULL ELSE jsonb_build_object('date',"
        " to_char((now() AT TIME ZONE $12)::date - $9::int, 'YYYY-MM-DD'), 'interviewer_id',"
        " $3::bigint, 'disclosure', $10::text, 'recording_ref', $11::text) END,"
        " now() - make_interval(days => $9::int)) RETURNING *)"
        " INSERT INTO entry_versions (entry_id, version, body_md, body_html, visibility,"
        " visible_to, interview, edited_by, edited_at) SELECT id, version, body_md, body_html,"
        " visibility, visible_to, interview, author_id, created_at FROM e RETURNING entry_id",
        &p);
    free(html);
    if (id < 0)
        return d->c->status;
    return demo_record(d, case_id, "entry.create", "entry", id, "entry.created", author,
                       json_pack("{s:s, s:s}", "kind", en->kind, "visibility", en->visibility));
}

static int demo_action(demo_t *d, const demo_action_t *ac)
{
    char *html = NULL;
    if (mdt_markdown_render(ac->details, strlen(ac->details), &html) != 0)
        return MDT_DB_ERROR;
    int64_t case_id = d->kase[ac->kase], creator = d->user[ac->creator];
    mdt_db_params_t p;
    mdt_db_params_init(&p);
    mdt_db_param_int(&p, case_id);
    mdt_db_param_str(&p, ac->title);
    mdt_db_param_str(&p, ac->details);
    mdt_db_param_str(&p, html);
    if (ac->assignee == NO_PERSON)
        mdt_db_param_str(&p, NULL);
    else
        mdt_db_param_int(&p, d->user[ac->assignee]);
    mdt_db_param_int(&p, d->agency[ac->assignee_agency]);
    mdt_db_param_int(&p, d->agency[USERS[ac->creator].agency]);
    if (ac->due_days == NO_DUE)
        mdt_db_param_str(&p, NULL);
    else
        mdt_db_param_int(&p, ac->due_days);
    mdt_db_param_str(&p, ac->status);
    mdt_db_param_str(&p, ac->visibility);
    mdt_db_param_int(&p, creator);
    mdt_db_param_str(&p, d->tz);
    int64_t id = demo_id(
        d,
        "WITH a AS (INSERT INTO actions (case_id, title, details_md, details_html, assignee_id,"
        " assignee_agency_id, agency_id, due_date, status, visibility, created_by, created_at,"
        " completed_at, closed_at, closed_by) VALUES ($1, $2, $3, $4, $5::bigint, $6, $7,"
        " (now() AT TIME ZONE $12)::date + $8::int, $9, $10, $11, now() - interval '8 days',"
        " CASE WHEN $9 = 'done' THEN now() - interval '1 day' END,"
        " CASE WHEN $9 IN ('done', 'cancelled') THEN now() - interval '1 day' END,"
        " CASE WHEN $9 IN ('done', 'cancelled') THEN coalesce($5::bigint, $11) END) RETURNING *)"
        " INSERT INTO action_versions (action_id, version, data, edited_by, edited_at)"
        " SELECT a.id, a.version, to_jsonb(a), a.created_by, a.created_at FROM a"
        " RETURNING action_id",
        &p);
    free(html);
    if (id < 0)
        return d->c->status;
    return demo_record(d, case_id, "action.create", "action", id, "action.created", creator,
                       json_pack("{s:s, s:I}", "status", ac->status, "assignee_agency_id",
                                 (json_int_t)d->agency[ac->assignee_agency]));
}

/* A non-admin user of agency id (the demo has one in every agency). */
static int64_t demo_user_of(const demo_t *d, int64_t agency_id)
{
    for (int u = 0; u < U_COUNT; u++) {
        if (d->agency[USERS[u].agency] == agency_id && strcmp(USERS[u].role, "admin") != 0)
            return d->user[u];
    }
    return 0;
}

static int demo_pii_cat(demo_t *d, int64_t case_id, const char *cat, const char *data, int64_t by)
{
    mdt_db_params_t p;
    mdt_db_params_init(&p);
    mdt_db_param_int(&p, case_id);
    mdt_db_param_str(&p, cat);
    mdt_db_param_str(&p, data);
    mdt_db_param_int(&p, by);
    return mdt_db_exec(d->c,
                       "WITH w AS (INSERT INTO pii (case_id, category, data, updated_by)"
                       " VALUES ($1, $2, $3::jsonb, $4) RETURNING *)"
                       " INSERT INTO pii_versions (case_id, category, version, data, updated_by)"
                       " SELECT case_id, category, 1, data, updated_by FROM w",
                       &p);
}

/* Each category written by (a user of) its owner; language by the lead. */
static int demo_pii(demo_t *d, const demo_pii_t *pi)
{
    int64_t case_id = d->kase[pi->kase];
    const demo_case_t *k = &CASES[pi->kase];
    int64_t ids[AG_COUNT], owners[MDT_PII_COUNT];
    mdt_agency_kind_t kinds[AG_COUNT];
    size_t n = demo_case_agencies(d, k, ids, kinds);
    mdt_authz_default_pii_owners(ids[0], ids, kinds, n, owners);
    const char *data[MDT_PII_COUNT] = {pi->identity, pi->contact, pi->immigration, pi->health};
    mdt_db_params_t p;
    mdt_db_params_init(&p);
    mdt_db_param_int(&p, case_id);
    int rc = mdt_db_exec(d->c, "UPDATE cases SET pii_version = 1 WHERE id = $1", &p);
    for (int c = 0; c < MDT_PII_COUNT && rc == MDT_DB_OK; c++)
        rc = demo_pii_cat(d, case_id, mdt_authz_pii_cat_name((mdt_pii_cat_t)c), data[c],
                          demo_user_of(d, owners[c]));
    if (rc == MDT_DB_OK)
        rc = demo_pii_cat(d, case_id, "language", pi->language, d->user[k->creator]);
    if (rc != MDT_DB_OK)
        return rc;
    return demo_record(d, case_id, "pii.update", "pii", case_id, "pii.updated", d->user[k->creator],
                       json_pack("{s:[s,s,s,s,s]}", "categories", "identity", "contact",
                                 "immigration", "health", "language"));
}

static int demo_consent(demo_t *d, const demo_consent_t *co)
{
    int64_t case_id = d->kase[co->kase], by = d->user[co->granted_by];
    mdt_db_params_t p;
    mdt_db_params_init(&p);
    mdt_db_param_int(&p, case_id);
    mdt_db_param_int(&p, d->agency[co->agency]);
    mdt_db_param_str(&p, co->categories);
    mdt_db_param_str(&p, co->consented_by);
    mdt_db_param_str(&p, co->purpose);
    mdt_db_param_int(&p, co->signed_days_ago);
    mdt_db_param_int(&p, co->expires_in_days);
    mdt_db_param_str(&p, co->document_ref);
    mdt_db_param_int(&p, by);
    mdt_db_param_str(&p, d->tz);
    int64_t id = demo_id(
        d,
        "INSERT INTO consents (case_id, agency_id, categories, consented_by, purpose, signed_on,"
        " expires_at, document_ref, granted_by, created_at) VALUES ($1, $2, $3::text[],"
        " $4::jsonb, $5, (now() AT TIME ZONE $10)::date - $6::int,"
        " now() + make_interval(days => $7::int), $8, $9,"
        " now() - make_interval(days => $6::int)) RETURNING id",
        &p);
    if (id < 0)
        return d->c->status;
    json_t *detail = json_pack("{s:I, s:s}", "agency_id", (json_int_t)d->agency[co->agency],
                               "categories", co->categories);
    int rc =
        demo_record(d, case_id, "consent.create", "consent", id, "consent.changed", by, detail);
    if (rc != MDT_DB_OK || co->revoked_days_ago == NOT_REVOKED)
        return rc;
    mdt_db_params_init(&p);
    mdt_db_param_int(&p, id);
    mdt_db_param_int(&p, co->revoked_days_ago);
    mdt_db_param_int(&p, by);
    rc = mdt_db_exec(d->c,
                     "UPDATE consents SET revoked_at = now() - make_interval(days => $2::int),"
                     " revoked_by = $3 WHERE id = $1",
                     &p);
    if (rc == MDT_DB_OK)
        rc = demo_record(d, case_id, "consent.revoke", "consent", id, "consent.changed", by,
                         json_pack("{s:I}", "agency_id", (json_int_t)d->agency[co->agency]));
    return rc;
}

static int demo_tracking(demo_t *d, int i)
{
    int64_t case_id = d->kase[i], by = d->user[CASES[i].creator];
    mdt_db_params_t p;
    mdt_db_params_init(&p);
    mdt_db_param_int(&p, case_id);
    mdt_db_param_str(&p, CASES[i].tracking);
    mdt_db_param_int(&p, by);
    int rc = mdt_db_exec(d->c,
                         "INSERT INTO tracking (case_id, data, updated_by)"
                         " VALUES ($1, $2::jsonb, $3)",
                         &p);
    if (rc != MDT_DB_OK)
        return rc;
    return demo_record(d, case_id, "tracking.update", "tracking", case_id, "tracking.updated", by,
                       NULL);
}

static int demo_service(demo_t *d, const demo_service_t *sv)
{
    int64_t case_id = d->kase[sv->kase], by = d->user[sv->author];
    mdt_db_params_t p;
    mdt_db_params_init(&p);
    mdt_db_param_int(&p, case_id);
    mdt_db_param_int(&p, d->agency[USERS[sv->author].agency]);
    mdt_db_param_int(&p, sv->days_ago);
    mdt_db_param_str(&p, sv->category);
    mdt_db_param_str(&p, sv->service);
    mdt_db_param_int(&p, sv->minutes);
    mdt_db_param_str(&p, sv->note);
    mdt_db_param_str(&p, sv->visibility);
    mdt_db_param_int(&p, by);
    mdt_db_param_str(&p, d->tz);
    int64_t id =
        demo_id(d,
                "INSERT INTO services (case_id, agency_id, date, category, service, minutes, note,"
                " visibility, created_by, created_at) VALUES ($1, $2,"
                " (now() AT TIME ZONE $10)::date - $3::int, $4, $5, $6, $7, $8, $9,"
                " now() - make_interval(days => $3::int)) RETURNING id",
                &p);
    if (id < 0)
        return d->c->status;
    return demo_record(d, case_id, "service.create", "service", id, "service.created", by,
                       json_pack("{s:s}", "category", sv->category));
}

/* Everything after the agencies and users, in the order it would happen. */
static int demo_content(demo_t *d)
{
    int rc = demo_cases(d);
    for (size_t i = 0; rc == MDT_DB_OK && i < COUNT(ENTRIES); i++)
        rc = demo_entry(d, &ENTRIES[i]);
    for (size_t i = 0; rc == MDT_DB_OK && i < COUNT(ACTIONS); i++)
        rc = demo_action(d, &ACTIONS[i]);
    for (size_t i = 0; rc == MDT_DB_OK && i < COUNT(PII); i++)
        rc = demo_pii(d, &PII[i]);
    for (size_t i = 0; rc == MDT_DB_OK && i < COUNT(CONSENTS); i++)
        rc = demo_consent(d, &CONSENTS[i]);
    for (int i = 0; rc == MDT_DB_OK && i < N_CASES; i++)
        rc = demo_tracking(d, i);
    for (size_t i = 0; rc == MDT_DB_OK && i < COUNT(SERVICES); i++)
        rc = demo_service(d, &SERVICES[i]);
    return rc;
}

/* 1 when the installation has no agency yet, 0 when it has, -1 on error.
 * Inside the transaction the table is locked first, so two runs cannot
 * both see it empty. */
static int demo_empty(demo_t *d, int lock)
{
    if (lock && mdt_db_exec(d->c, "LOCK TABLE agencies IN EXCLUSIVE MODE", NULL) != MDT_DB_OK)
        return -1;
    int64_t n = demo_id(d, "SELECT count(*) FROM agencies", NULL);
    return n < 0 ? -1 : n == 0;
}

static int demo_hash_all(demo_t *d)
{
    for (int u = 0; u < U_COUNT; u++) {
        if (mdt_password_policy(USERS[u].password, NULL) != 0 ||
            mdt_password_hash(USERS[u].password, d->hash[u]) != 0)
            return -1;
    }
    return 0;
}

static int demo_write(demo_t *d)
{
    int rc = mdt_db_begin(d->c, NULL);
    int empty = rc == MDT_DB_OK ? demo_empty(d, 1) : -1;
    if (empty != 1) {
        mdt_db_rollback(d->c);
        return empty == 0 ? 1 : -1;
    }
    rc = demo_agencies(d);
    if (rc == MDT_DB_OK)
        rc = demo_users(d);
    if (rc == MDT_DB_OK)
        rc = demo_content(d);
    if (rc == MDT_DB_OK)
        rc = mdt_db_commit(d->c);
    if (rc != MDT_DB_OK)
        mdt_db_rollback(d->c);
    return rc == MDT_DB_OK ? 0 : -1;
}

static void demo_print(void)
{
    printf("MDT Board demo installation loaded: %d agencies, %d users, %d cases.\n\n", AG_COUNT,
           U_COUNT, N_CASES);
    printf("%-20s %-28s %-12s %s\n", "username", "password", "role", "agency");
    for (int u = 0; u < U_COUNT; u++)
        printf("%-20s %-28s %-12s %s\n", USERS[u].username, USERS[u].password, USERS[u].role,
               AGENCIES[USERS[u].agency].name);
    printf("\nThe police users (spd.sergeant, spd.detective) belong to a law_enforcement agency,\n"
           "which requires MFA by default (MDT_MFA_REQUIRED_KINDS): they must enrol an\n"
           "authenticator app (TOTP) at their first login before they can open any case.\n"
           "These are demo passwords: never use this installation for real cases.\n");
}

static void demo_usage(void)
{
    printf("usage: mdtboard demo\n\nLoads a fictional demo installation (agencies, one user of "
           "every role, a dozen cases with\nentries, action items, protected details, consents, "
           "tracking data and services)\ninto an empty, migrated database and prints the logins. "
           "Refuses (exit 1) when\nany agency exists. Reads MDT_DATABASE_URL, MDT_KEY_FILE and "
           "MDT_TIME_ZONE "
           "(default\nAmerica/New_York).\n");
}

static const char *const REFUSED =
    "mdtboard demo: the database already has agencies; the demo loads only into an empty\n"
    "installation (use a new database, or drop and re-create this one)\n";

/* Checks, hashes, writes, prints; closes d->c. The exit status. */
static int demo_main(demo_t *d)
{
    int rc = 1;
    int empty = demo_empty(d, 0);
    if (empty < 0)
        fprintf(stderr,
                "mdtboard demo: cannot read the agencies (run `mdtboard migrate` first?): %s",
                d->c->error);
    else if (empty == 0)
        fputs(REFUSED, stderr);
    else if (demo_hash_all(d) != 0)
        fprintf(stderr, "mdtboard demo: password hashing failed\n");
    else if ((rc = demo_write(d)) == 1)
        fputs(REFUSED, stderr);
    else if (rc < 0)
        fprintf(stderr, "mdtboard demo: writing the demo failed, nothing was loaded: %s",
                d->c->error);
    mdt_dbc_close(d->c);
    if (rc == 0 && (rc = mdt_cli_seal_plain("demo")) == 0)
        demo_print();
    return rc == 0 ? 0 : 1;
}

int mdt_demo_run(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            demo_usage();
            return 0;
        }
        fprintf(stderr, "mdtboard demo: unknown flag '%s' (see --help)\n", argv[i]);
        return 2;
    }
    const char *tz = getenv("MDT_TIME_ZONE");
    demo_t *d = calloc(1, sizeof(*d));
    if (!d)
        return 1;
    d->tz = tz && *tz ? tz : "America/New_York";
    snprintf(d->actor.username, sizeof(d->actor.username), "demo");
    snprintf(d->actor.address, sizeof(d->actor.address), "cli");
    d->c = mdt_cli_connect("demo", 1, NULL);
    int rc = d->c ? demo_main(d) : 1;
    free(d);
    return rc;
}
