/* markdown.h - Markdown source to safe HTML and to plain-text excerpts.
 *
 * Notes, interview updates, decisions and minutes are written in CommonMark
 * and rendered once, on write, with cmark. This module owns what "safe"
 * means for that HTML: cmark's safe mode (raw HTML never passes), then a
 * walk of the tree that keeps only http:, https: and mailto: link targets
 * and turns every image into a plain link, so a reader's browser never
 * fetches anything it was not asked to. Both functions are pure and
 * thread-safe. Most notes take well under a millisecond, but Debian's cmark
 * 0.30.2 has a quadratic case (repeated "![[]()", fixed upstream in 0.30.3)
 * that costs ~0.3 s per parse at the size limit: call them off the event
 * loop (the worker pool) for user input. */
#ifndef MDT_MARKDOWN_H
#define MDT_MARKDOWN_H

#include <stddef.h>

/* Bytes of Markdown source accepted by one call (exactly this many is fine). */
#define MDT_MARKDOWN_MAX_SOURCE (64 * 1024)
/* Bytes of rendered HTML (exactly this many is fine): well under the 64 KiB
 * WebSocket frame that carries it, so an event with it still fits. */
#define MDT_MARKDOWN_MAX_HTML (32 * 1024)
/* Levels of the parsed tree (exactly this many is fine): every node is one
 * level below its parent, the document's children at level 1. A block quote
 * or emphasis adds one, a list level two (list and item); a paragraph and
 * its text are levels too. */
#define MDT_MARKDOWN_MAX_DEPTH 32

/* Renders len bytes of CommonMark at src (no NUL terminator needed; src may
 * be NULL when len is 0) into *html_out, a NUL-terminated HTML fragment that
 * the caller frees with free(). The empty document renders to "".
 *
 * - Newlines inside a paragraph are kept as <br /> (CMARK_OPT_HARDBREAKS):
 *   people type notes in a plain text box and expect their line breaks.
 *   Smart punctuation is off: quotes are stored exactly as typed.
 * - Raw HTML (blocks and inline tags, comments included) is dropped without
 *   a trace: no "<!-- raw HTML omitted -->" marker is kept, and a paragraph
 *   left empty by that is removed. Text between inline tags stays.
 * - A link whose destination does not begin with http:, https: or mailto:
 *   (ASCII case-insensitive, as cmark hands it over: trimmed, entities and
 *   backslash escapes decoded), or that contains any control character,
 *   keeps its text and gets href="". Relative and protocol-relative URLs
 *   are blanked too. Titles are kept; cmark escapes them.
 * - An image becomes <a href="url">alt text</a> (the URL as text when the
 *   alt text is empty), or just its alt text when the URL is not allowed or
 *   the image sits inside a link (no nested links). No <img> is ever output.
 *
 * Returns 0 on success. Returns -1, with *html_out set to NULL and nothing
 * allocated, when len > MDT_MARKDOWN_MAX_SOURCE, when the source is not
 * valid UTF-8 (overlong forms, surrogates and NUL bytes are refused: the
 * source is stored in PostgreSQL text), when the tree is nested deeper than
 * MDT_MARKDOWN_MAX_DEPTH, when the HTML would exceed MDT_MARKDOWN_MAX_HTML
 * bytes, or on allocation failure in this module. (cmark's own allocator
 * aborts the process when memory runs out.) */
int mdt_markdown_render(const char *src, size_t len, char **html_out);

/* A short plain-text excerpt of the same source, for minutes, lists and CSV:
 * the text content only (link text without URLs, image alt text, code as
 * written, raw HTML dropped), every run of whitespace and control characters
 * collapsed to one space, trimmed at both ends. When longer than max_chars
 * Unicode code points it is cut to max_chars - 1 code points, trailing space
 * removed, and "…" (U+2026) appended, so the result never exceeds max_chars
 * code points (max_chars 0 gives ""). Same input checks and return contract
 * as mdt_markdown_render; *out is freed by the caller with free(). */
int mdt_markdown_plaintext(const char *src, size_t len, char **out, size_t max_chars);

#endif
