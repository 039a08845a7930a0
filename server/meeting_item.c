/* meeting_item.c - one agenda case as a reader may see it (see
 * meeting_item.h). */
#include "meeting_item.h"

#include <string.h>

#include "json.h"

static const char *const REASONS[] = {"carried_over", "overdue_actions", "review_due",
                                      "not_reviewed", NULL};

const char *mdt_meeting_item_reason_name(int k)
{
    return k >= 0 && k < MDT_REASON_COUNT ? REASONS[k] : NULL;
}

unsigned mdt_meeting_item_reason_bit(const char *name)
{
    for (int k = 0; name && k < MDT_REASON_COUNT; k++) {
        if (strcmp(name, REASONS[k]) == 0)
            return 1u << k;
    }
    return 0;
}

/* No reason name is a part of another, so finding each one is enough. */
unsigned mdt_meeting_item_reasons_parse(const char *text)
{
    unsigned mask = 0;
    for (int k = 0; text && k < MDT_REASON_COUNT; k++) {
        if (strstr(text, REASONS[k]))
            mask |= 1u << k;
    }
    return mask;
}

json_t *mdt_meeting_item_reasons_json(unsigned mask)
{
    json_t *a = json_array();
    for (int k = 0; k < MDT_REASON_COUNT; k++) {
        if (mask & (1u << k))
            json_array_append_new(a, json_string(REASONS[k]));
    }
    return a;
}

bool mdt_meeting_item_visible(const mdt_meeting_case_t *a, const mdt_principal_t *p)
{
    mdt_case_ctx_t view = mdt_casectx_view(&a->cx);
    return mdt_authz_case_visible(p, &view);
}

json_t *mdt_meeting_item_json(const mdt_meeting_case_t *a, const mdt_principal_t *p)
{
    if (!mdt_meeting_item_visible(a, p))
        return json_pack("{s:i, s:b}", "position", a->position, "restricted", 1);
    return json_pack("{s:i, s:I, s:s, s:s, s:o, s:o, s:i, s:o, s:o, s:o}", "position", a->position,
                     "case_id", (json_int_t)a->case_id, "alias", a->alias, "case_number",
                     a->case_number, "outcome_md", mdt_json_str_or_null(a->outcome_md),
                     "outcome_html", mdt_json_str_or_null(a->outcome_html), "outcome_version",
                     a->outcome_version, "outcome_by", mdt_json_id_or_null(a->outcome_by),
                     "outcome_at", mdt_json_str_or_null(a->outcome_at), "reasons",
                     mdt_meeting_item_reasons_json(a->reasons));
}
