/* ics.h - writing iCalendar text (RFC 5545): content lines ending CRLF,
 * folded at 75 octets (never inside a UTF-8 sequence), TEXT values
 * escaped. Pure: no I/O. The calendar feed (calendar.c) is its user. */
#ifndef MDT_ICS_H
#define MDT_ICS_H

#include "buf.h"

/* Appends the content line "name:value" to b, folded. name may carry
 * parameters ("DTSTART;VALUE=DATE"). text: escape value as TEXT
 * (backslash, semicolon, comma, line ends); 0 for other value types (a
 * date, a URI), which are written as they are. */
void mdt_ics_line(mdt_buf_t *b, const char *name, const char *value, int text);

#endif
