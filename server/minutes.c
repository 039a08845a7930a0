/* minutes.c - the minutes of a meeting for one reader (see minutes.h).
 *
 * Everything about a case comes through the serializers that decide what
 * the reader may see: the agenda case as the meeting item kind shows it
 * (mdt_meeting_item_json: its alias, number and outcome; a restricted item
 * is skipped without a number or a placeholder, and the cases shown are
 * numbered 1..k), decisions through
 * mdt_entries_list_json, action items through mdt_actions_list_json. Text
 * a user wrote is escaped for the format (HTML entities; Markdown backslash
 * escapes); outcomes are their stored Markdown source in the Markdown
 * minutes and their sanitized HTML (mdt_markdown_render on write) in the
 * HTML minutes, which is a whole document with no inline style or script
 * (the CSP forbids them) and the print stylesheet /minutes.css. */
#include "minutes.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "actions.h"
#include "buf.h"
#include "entries.h"
#include "markdown.h"
#include "meeting_item.h"
#include "sealed.h"

#define DECISION_MAX_CHARS 2000

/* Text as HTML character data or attribute value. */
static void sb_html(mdt_buf_t *b, const char *s)
{
    for (; s && *s; s++) {
        switch (*s) {
        case '&':
            mdt_buf_puts(b, "&amp;");
            break;
        case '<':
            mdt_buf_puts(b, "&lt;");
            break;
        case '>':
            mdt_buf_puts(b, "&gt;");
            break;
        case '"':
            mdt_buf_puts(b, "&quot;");
            break;
        case '\'':
            mdt_buf_puts(b, "&#39;");
            break;
        default:
            mdt_buf_putn(b, s, 1);
        }
    }
}

/* Text as one line of inline Markdown that renders as exactly that text:
 * line breaks become spaces, inline syntax is backslash-escaped, and so is
 * what would start a block (list markers, "1." and the like) at its start. */
static void sb_md(mdt_buf_t *b, const char *s)
{
    int digits = 1; /* only digits so far: a following "." or ")" is a list marker */
    for (size_t i = 0; s && s[i]; i++) {
        unsigned char ch = (unsigned char)s[i];
        int lead = i == 0 && strchr("-+=", ch);
        if (ch < 0x20 || ch == 0x7f) {
            mdt_buf_puts(b, " ");
        } else {
            if (lead || strchr("\\`*_{}[]<>#|~!&", ch) || (digits && i && strchr(".)", ch)))
                mdt_buf_puts(b, "\\");
            mdt_buf_putn(b, (const char *)&ch, 1);
        }
        digits &= ch >= '0' && ch <= '9';
    }
}

/* A status as words ("in_progress" -> "in progress"). */
static const char *status_words(const char *s)
{
    return s && strcmp(s, "in_progress") == 0 ? "in progress" : s;
}

/* ---- the document ---------------------------------------------------------- */

typedef struct {
    mdt_buf_t sb;
    int html;
    mdt_dbc_t *c;
    const mdt_meeting_t *m;
    const mdt_principal_t *p;
    const char *tz;
    char date[16];
    PGresult *agencies;         /* id, name */
    int version;                /* the minutes version shown; 0 = the latest */
    mdt_meeting_case_t *agenda; /* m's agenda, outcomes as of version */
    PGresult *outcomes;         /* what those outcomes point into */
} doc_t;

/* User text, escaped for the document's format. */
static void doc_text(doc_t *d, const char *s)
{
    if (d->html)
        sb_html(&d->sb, s);
    else
        sb_md(&d->sb, s);
}

static const char *agency_name(const doc_t *d, int64_t id)
{
    for (int i = 0; i < PQntuples(d->agencies); i++) {
        if (mdt_db_int(d->agencies, i, 0) == id)
            return mdt_db_str(d->agencies, i, 1);
    }
    return "(unknown agency)";
}

static void doc_head_html(doc_t *d)
{
    mdt_buf_puts(&d->sb,
                 "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
                 "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
                 "<title>Minutes: ");
    sb_html(&d->sb, d->m->title);
    mdt_buf_puts(&d->sb,
                 "</title>\n<link rel=\"stylesheet\" href=\"/minutes.css\">\n</head>\n<body>\n"
                 "<main class=\"minutes\">\n<header>\n<h1>Minutes: ");
    sb_html(&d->sb, d->m->title);
    mdt_buf_puts(&d->sb, "</h1>\n<dl class=\"meta\">\n");
}

/* "Draft — not approved", or "Approved by NAME on DATE" and which version
 * this is (r: doc_head's row, columns 4 and 5). */
static void doc_approval(doc_t *d, const PGresult *r)
{
    int latest = d->m->minutes_version;
    if (!latest) {
        mdt_buf_puts(&d->sb, "Draft — not approved");
        return;
    }
    mdt_buf_puts(&d->sb, "Approved by ");
    doc_text(d, mdt_db_str(r, 0, 4));
    mdt_buf_printf(&d->sb, " on %s", mdt_db_str(r, 0, 5));
    int shown = d->version ? d->version : latest;
    if (latest > 1 || shown < latest)
        mdt_buf_printf(&d->sb, "; version %d of %d%s", shown, latest,
                       shown < latest ? " (corrected since)" : "");
}

/* Title, date and time (installation time zone), facilitator, status,
 * approval. */
static int doc_head(doc_t *d)
{
    mdt_db_params_t q;
    mdt_db_params_init(&q);
    mdt_db_param_int(&q, d->m->id);
    mdt_db_param_str(&q, d->tz);
    PGresult *r = mdt_db_query(
        d->c,
        "SELECT to_char(m.scheduled_at AT TIME ZONE $2, 'YYYY-MM-DD'),"
        " to_char(m.scheduled_at AT TIME ZONE $2, 'HH24:MI'), u.display_name, a.name,"
        " ap.display_name, to_char(m.minutes_approved_at AT TIME ZONE $2, 'YYYY-MM-DD')"
        " FROM meetings m JOIN users u ON u.id = m.facilitator_id"
        " JOIN agencies a ON a.id = u.agency_id"
        " LEFT JOIN users ap ON ap.id = m.minutes_approved_by WHERE m.id = $1",
        &q);
    if (!r)
        return d->c->status;
    if (PQntuples(r) != 1) {
        PQclear(r);
        return MDT_DB_NOT_FOUND;
    }
    snprintf(d->date, sizeof(d->date), "%s", mdt_db_str(r, 0, 0));
    const char *time = mdt_db_str(r, 0, 1), *fac = mdt_db_str(r, 0, 2), *ag = mdt_db_str(r, 0, 3);
    mdt_buf_t *b = &d->sb;
    if (d->html) {
        doc_head_html(d);
        mdt_buf_printf(b, "<dt>Date</dt><dd><time datetime=\"%s\">%s</time>, %s (", d->date,
                       d->date, time);
        sb_html(b, d->tz);
        mdt_buf_puts(b, ")</dd>\n<dt>Facilitator</dt><dd>");
        sb_html(b, fac);
        mdt_buf_puts(b, " (");
        sb_html(b, ag);
        mdt_buf_printf(b, ")</dd>\n<dt>Status</dt><dd>%s</dd>\n<dt>Minutes</dt><dd>",
                       status_words(d->m->status));
        doc_approval(d, r);
        mdt_buf_puts(b, "</dd>\n</dl>\n</header>\n");
    } else {
        mdt_buf_puts(b, "# Minutes: ");
        sb_md(b, d->m->title);
        mdt_buf_printf(b, "\n\n- Date: %s, %s (", d->date, time);
        sb_md(b, d->tz);
        mdt_buf_puts(b, ")\n- Facilitator: ");
        sb_md(b, fac);
        mdt_buf_puts(b, " (");
        sb_md(b, ag);
        mdt_buf_printf(b, ")\n- Status: %s\n- Minutes: ", status_words(d->m->status));
        doc_approval(d, r);
        mdt_buf_puts(b, "\n\n");
    }
    PQclear(r);
    return MDT_DB_OK;
}

/* One agency's line: "Agency: A, B". Rows [from, to) of r share it. */
static void doc_attendee_group(doc_t *d, const PGresult *r, int from, int to)
{
    mdt_buf_t *b = &d->sb;
    mdt_buf_puts(b, d->html ? "<dt>" : "- ");
    doc_text(d, mdt_db_str(r, from, 1));
    mdt_buf_puts(b, d->html ? "</dt><dd>" : ": ");
    for (int i = from; i < to; i++) {
        if (i > from)
            mdt_buf_puts(b, ", ");
        doc_text(d, mdt_db_str(r, i, 2));
    }
    mdt_buf_puts(b, d->html ? "</dd>\n" : "\n");
}

static int doc_attendees(doc_t *d)
{
    mdt_db_params_t q;
    mdt_db_params_init(&q);
    mdt_db_param_int(&q, d->m->id);
    PGresult *r = mdt_db_query(d->c,
                               "SELECT a.id, a.name, u.display_name FROM meeting_attendance ma"
                               " JOIN users u ON u.id = ma.user_id"
                               " JOIN agencies a ON a.id = ma.agency_id WHERE ma.meeting_id = $1"
                               " ORDER BY a.name, a.id, u.display_name, u.id",
                               &q);
    if (!r)
        return d->c->status;
    int n = PQntuples(r);
    mdt_buf_puts(&d->sb, d->html ? "<section class=\"attendees\">\n<h2>Attendees</h2>\n"
                                 : "## Attendees\n\n");
    if (n == 0)
        mdt_buf_puts(&d->sb, d->html ? "<p>No attendance was recorded.</p>\n"
                                     : "No attendance was recorded.\n");
    else if (d->html)
        mdt_buf_puts(&d->sb, "<dl>\n");
    for (int i = 0, from = 0; i < n; i++) {
        if (i + 1 == n || mdt_db_int(r, i + 1, 0) != mdt_db_int(r, i, 0)) {
            doc_attendee_group(d, r, from, i + 1);
            from = i + 1;
        }
    }
    mdt_buf_puts(&d->sb, d->html ? (n ? "</dl>\n</section>\n" : "</section>\n") : "\n");
    PQclear(r);
    return MDT_DB_OK;
}

static void doc_heading(doc_t *d, const char *label)
{
    if (d->html)
        mdt_buf_printf(&d->sb, "<h4>%s</h4>\n", label);
    else
        mdt_buf_printf(&d->sb, "#### %s\n\n", label);
}

static void doc_none(doc_t *d, const char *what)
{
    mdt_buf_printf(&d->sb, d->html ? "<p class=\"none\">%s</p>\n" : "_%s_\n\n", what);
}

/* The outcome of a visible meeting item (its JSON). */
static void doc_outcome(doc_t *d, json_t *item)
{
    const char *md = json_string_value(json_object_get(item, "outcome_md"));
    const char *html = json_string_value(json_object_get(item, "outcome_html"));
    doc_heading(d, "Outcome");
    if (!md || !md[0]) {
        doc_none(d, "No outcome recorded.");
    } else if (d->html) {
        mdt_buf_puts(&d->sb, "<div class=\"outcome\">\n");
        mdt_buf_puts(&d->sb, html ? html : "");
        mdt_buf_puts(&d->sb, "</div>\n");
    } else {
        size_t n = strlen(md);
        mdt_buf_puts(&d->sb, md);
        mdt_buf_puts(&d->sb, n && md[n - 1] == '\n' ? "\n" : "\n\n");
    }
}

static void doc_decision(doc_t *d, json_t *e)
{
    const char *md = json_string_value(json_object_get(e, "body_md"));
    const char *author = json_string_value(json_object_get(e, "author_name"));
    if (d->html) {
        mdt_buf_puts(&d->sb, "<li><div class=\"decision\">");
        mdt_buf_puts(&d->sb, json_string_value(json_object_get(e, "body_html")));
        mdt_buf_puts(&d->sb, "</div><p class=\"byline\">");
        sb_html(&d->sb, author);
        mdt_buf_puts(&d->sb, "</p></li>\n");
        return;
    }
    char *plain = NULL;
    mdt_buf_puts(&d->sb, "- ");
    if (md && mdt_markdown_plaintext(md, strlen(md), &plain, DECISION_MAX_CHARS) == 0)
        sb_md(&d->sb, plain);
    free(plain);
    mdt_buf_puts(&d->sb, " — ");
    sb_md(&d->sb, author);
    mdt_buf_puts(&d->sb, "\n");
}

/* Decision entries of the case recorded in this meeting (meeting_id), and
 * those with no meeting created on the meeting's date (in the
 * installation's time zone) — once the minutes are approved, only those
 * created before the approval —, as p may see them. */
static int doc_decisions(doc_t *d, const mdt_meeting_case_t *a)
{
    mdt_db_params_t q;
    mdt_db_params_init(&q);
    mdt_db_param_int(&q, a->case_id);
    mdt_db_param_str(&q, d->tz);
    mdt_db_param_str(&q, d->date);
    mdt_db_param_int(&q, d->m->id);
    mdt_db_param_str(&q, d->m->minutes_approved_at);
    PGresult *r = mdt_db_query(
        d->c,
        "SELECT id FROM entries WHERE case_id = $1 AND kind = 'decision'"
        " AND retracted_at IS NULL AND (meeting_id = $4 OR (meeting_id IS NULL"
        " AND (created_at AT TIME ZONE $2)::date = $3::date"
        " AND ($5::timestamptz IS NULL OR created_at <= $5::timestamptz))) ORDER BY id",
        &q);
    if (!r)
        return d->c->status;
    json_t *shown = json_array();
    int rc = MDT_DB_OK;
    for (int i = 0; i < PQntuples(r) && rc == MDT_DB_OK; i++) {
        json_t *one = mdt_entries_list_json(d->c, d->p, &a->cx, mdt_db_int(r, i, 0));
        if (!one)
            rc = d->c->status;
        else
            json_array_extend(shown, one);
        json_decref(one);
    }
    PQclear(r);
    doc_heading(d, "Decisions");
    if (json_array_size(shown) == 0)
        doc_none(d, "None recorded.");
    mdt_buf_puts(&d->sb, json_array_size(shown) && d->html ? "<ul class=\"decisions\">\n" : "");
    size_t i;
    json_t *e;
    json_array_foreach(shown, i, e) doc_decision(d, e);
    mdt_buf_puts(&d->sb, json_array_size(shown) ? (d->html ? "</ul>\n" : "\n") : "");
    json_decref(shown);
    return rc;
}

/* "Name (Agency)" or "Agency" when no one is assigned. */
static void doc_owner(doc_t *d, json_t *a)
{
    const char *name = json_string_value(json_object_get(a, "assignee_name"));
    const char *agency =
        agency_name(d, json_integer_value(json_object_get(a, "assignee_agency_id")));
    if (name) {
        doc_text(d, name);
        mdt_buf_puts(&d->sb, " (");
        doc_text(d, agency);
        mdt_buf_puts(&d->sb, ")");
    } else {
        doc_text(d, agency);
    }
}

static void doc_action(doc_t *d, json_t *a)
{
    const char *due = json_string_value(json_object_get(a, "due_date"));
    const char *status = status_words(json_string_value(json_object_get(a, "status")));
    mdt_buf_puts(&d->sb, d->html ? "<tr><td>" : "- ");
    doc_text(d, json_string_value(json_object_get(a, "title")));
    mdt_buf_puts(&d->sb, d->html ? "</td><td>" : " — owner: ");
    doc_owner(d, a);
    mdt_buf_puts(&d->sb, d->html ? "</td><td>" : "; due: ");
    mdt_buf_puts(&d->sb, due ? due : "no due date");
    mdt_buf_printf(&d->sb, d->html ? "</td><td>%s</td></tr>\n" : "; status: %s\n", status);
}

/* Action items of the case created in this meeting, as p may see them. */
static int doc_actions(doc_t *d, const mdt_meeting_case_t *a)
{
    json_t *all = mdt_actions_list_json(d->c, d->p, &a->cx, 0, d->tz);
    if (!all)
        return d->c->status;
    json_t *shown = json_array();
    size_t i;
    json_t *it;
    json_array_foreach(all, i, it)
    {
        if (json_integer_value(json_object_get(it, "meeting_id")) == d->m->id &&
            json_is_null(json_object_get(it, "retracted_at")))
            json_array_append(shown, it);
    }
    json_decref(all);
    doc_heading(d, "Action items");
    if (json_array_size(shown) == 0)
        doc_none(d, "None created in this meeting.");
    else if (d->html)
        mdt_buf_puts(&d->sb,
                     "<table class=\"actions\">\n<thead><tr><th scope=\"col\">Action item</th>"
                     "<th scope=\"col\">Owner</th><th scope=\"col\">Due</th>"
                     "<th scope=\"col\">Status</th></tr></thead>\n<tbody>\n");
    json_array_foreach(shown, i, it) doc_action(d, it);
    mdt_buf_puts(&d->sb, json_array_size(shown) ? (d->html ? "</tbody>\n</table>\n" : "\n") : "");
    json_decref(shown);
    return MDT_DB_OK;
}

/* Agenda case a, shown as its meeting item (item: its JSON, visible). */
static int doc_case(doc_t *d, int number, const mdt_meeting_case_t *a, json_t *item)
{
    const char *alias = json_string_value(json_object_get(item, "alias"));
    const char *case_number = json_string_value(json_object_get(item, "case_number"));
    if (d->html) {
        mdt_buf_printf(&d->sb, "<article class=\"case\">\n<h3><span class=\"position\">%d.</span> ",
                       number);
        sb_html(&d->sb, alias);
        mdt_buf_puts(&d->sb, " <span class=\"case-number\">(");
        sb_html(&d->sb, case_number);
        mdt_buf_puts(&d->sb, ")</span></h3>\n");
    } else {
        mdt_buf_printf(&d->sb, "### %d. ", number);
        sb_md(&d->sb, alias);
        mdt_buf_puts(&d->sb, " (");
        sb_md(&d->sb, case_number);
        mdt_buf_puts(&d->sb, ")\n\n");
    }
    doc_outcome(d, item);
    int rc = doc_decisions(d, a);
    if (rc == MDT_DB_OK)
        rc = doc_actions(d, a);
    mdt_buf_puts(&d->sb, d->html ? "</article>\n" : "");
    return rc;
}

static int doc_cases(doc_t *d)
{
    mdt_buf_puts(&d->sb, d->html ? "<section class=\"cases\">\n<h2>Cases</h2>\n" : "## Cases\n\n");
    int shown = 0, rc = MDT_DB_OK;
    for (size_t i = 0; i < d->m->n_agenda && rc == MDT_DB_OK; i++) {
        json_t *item = mdt_meeting_item_json(&d->agenda[i], d->p);
        if (!item)
            rc = MDT_DB_ERROR;
        else if (!json_is_true(json_object_get(item, "restricted")))
            rc = doc_case(d, ++shown, &d->agenda[i], item);
        json_decref(item);
    }
    if (shown == 0)
        doc_none(d, "No cases.");
    mdt_buf_puts(&d->sb, d->html ? "</section>\n" : "");
    return rc;
}

/* The agenda to show: m's, with each outcome as it was at minutes version
 * d->version (the last outcome version written at or before it; none:
 * no outcome) when a version is asked for. */
static int doc_load_agenda(doc_t *d)
{
    d->agenda = malloc((d->m->n_agenda + 1) * sizeof(*d->agenda));
    if (!d->agenda)
        return MDT_DB_ERROR;
    if (d->m->n_agenda)
        memcpy(d->agenda, d->m->agenda, d->m->n_agenda * sizeof(*d->agenda));
    if (!d->version)
        return MDT_DB_OK;
    mdt_db_params_t q;
    mdt_db_params_init(&q);
    mdt_db_param_int(&q, d->m->id);
    mdt_db_param_int(&q, d->version);
    static const mdt_sealed_col_t SEALED[] = {
        {1, "outcome", "outcome_md", 3, 0, NULL, -1},
        {2, "outcome", "outcome_html", 3, 0, NULL, -1},
    };
    d->outcomes = mdt_sealed_query(d->c,
                                   "SELECT DISTINCT ON (case_id) case_id, outcome_md, outcome_html,"
                                   " meeting_id FROM meeting_outcome_versions WHERE meeting_id = $1"
                                   " AND minutes_version <= $2 ORDER BY case_id, version DESC",
                                   &q, SEALED, 2);
    if (!d->outcomes)
        return d->c->status;
    for (size_t i = 0; i < d->m->n_agenda; i++) {
        d->agenda[i].outcome_md = d->agenda[i].outcome_html = NULL;
        for (int k = 0; k < PQntuples(d->outcomes); k++) {
            if (mdt_db_int(d->outcomes, k, 0) != d->agenda[i].case_id)
                continue;
            d->agenda[i].outcome_md = mdt_db_str(d->outcomes, k, 1);
            d->agenda[i].outcome_html = mdt_db_str(d->outcomes, k, 2);
        }
    }
    return MDT_DB_OK;
}

/* One correction (m's correction i, r's row k: who and when). */
static void doc_correction(doc_t *d, size_t i, const PGresult *r, int k)
{
    const mdt_minutes_correction_t *x = &d->m->corrections[i];
    const mdt_meeting_case_t *a = NULL;
    for (size_t j = 0; j < d->m->n_agenda; j++)
        a = d->m->agenda[j].case_id == x->case_id ? &d->m->agenda[j] : a;
    mdt_buf_printf(&d->sb, d->html ? "<li>Version %d: " : "- Version %d: ", x->version);
    doc_text(d, a ? a->alias : "");
    mdt_buf_puts(&d->sb, " (");
    doc_text(d, a ? a->case_number : "");
    mdt_buf_puts(&d->sb, "), by ");
    doc_text(d, mdt_db_str(r, k, 1));
    mdt_buf_printf(&d->sb, " on %s: ", mdt_db_str(r, k, 2));
    doc_text(d, x->reason);
    mdt_buf_puts(&d->sb, d->html ? "</li>\n" : "\n");
}

/* The corrections up to the version shown, of the cases p may see only. */
static int doc_corrections(doc_t *d)
{
    if (!d->m->minutes_version)
        return MDT_DB_OK;
    mdt_db_params_t q;
    mdt_db_params_init(&q);
    mdt_db_param_int(&q, d->m->id);
    mdt_db_param_str(&q, d->tz);
    PGresult *r =
        mdt_db_query(d->c,
                     "SELECT k.version, u.display_name,"
                     " to_char(k.corrected_at AT TIME ZONE $2, 'YYYY-MM-DD HH24:MI')"
                     " FROM meeting_minutes_corrections k JOIN users u ON u.id = k.corrected_by"
                     " WHERE k.meeting_id = $1 ORDER BY k.version",
                     &q);
    if (!r)
        return d->c->status;
    int shown = 0;
    mdt_buf_puts(&d->sb, d->html ? "<section class=\"corrections\">\n<h2>Corrections</h2>\n"
                                 : "## Corrections\n\n");
    for (size_t i = 0; i < d->m->n_corrections; i++) {
        int version = d->m->corrections[i].version;
        if ((d->version && version > d->version) || !mdt_meetings_correction_visible(d->m, i, d->p))
            continue;
        for (int k = 0; k < PQntuples(r); k++) {
            if ((int)mdt_db_int(r, k, 0) != version)
                continue;
            mdt_buf_puts(&d->sb, d->html && !shown ? "<ul>\n" : "");
            doc_correction(d, i, r, k);
            shown++;
        }
    }
    PQclear(r);
    if (!shown)
        doc_none(d, "None.");
    mdt_buf_puts(&d->sb,
                 d->html ? (shown ? "</ul>\n</section>\n" : "</section>\n") : (shown ? "\n" : ""));
    return MDT_DB_OK;
}

int mdt_minutes_build(mdt_dbc_t *c, const mdt_meeting_t *m, const mdt_principal_t *p,
                      const char *time_zone, int html, int version, char **out, size_t *len)
{
    doc_t d = {.html = html, .c = c, .m = m, .p = p, .tz = time_zone, .version = version};
    *out = NULL;
    *len = 0;
    d.agencies = mdt_db_query(c, "SELECT id, name FROM agencies ORDER BY id", NULL);
    int rc = d.agencies ? MDT_DB_OK : c->status;
    if (rc == MDT_DB_OK)
        rc = doc_head(&d);
    if (rc == MDT_DB_OK)
        rc = doc_attendees(&d);
    if (rc == MDT_DB_OK)
        rc = doc_load_agenda(&d);
    if (rc == MDT_DB_OK)
        rc = doc_cases(&d);
    if (rc == MDT_DB_OK)
        rc = doc_corrections(&d);
    mdt_buf_puts(&d.sb, html ? "</main>\n</body>\n</html>\n" : "");
    PQclear(d.agencies);
    PQclear(d.outcomes);
    free(d.agenda);
    if (rc != MDT_DB_OK) {
        mdt_buf_free(&d.sb);
        return rc;
    }
    *out = mdt_buf_take(&d.sb, len);
    return *out ? MDT_DB_OK : MDT_DB_ERROR;
}
