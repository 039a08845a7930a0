/* smtp.h - sending one email through the configured SMTP server (libcurl).
 *
 * The installation names one relay: MDT_SMTP_URL smtps://host:465
 * (implicit TLS) or smtp://host:587, where STARTTLS is then required
 * (libcurl's CURLUSESSL_ALL: a server that does not offer it fails the
 * send). Certificates are verified against the system's CA store, or the
 * PEM file MDT_SMTP_CA_FILE (a private CA) instead. The one
 * exception is a test relay on the loopback interface with
 * MDT_SMTP_INSECURE_LOOPBACK=1: plain SMTP is then allowed (STARTTLS still
 * used when offered). Credentials come from the URL's userinfo or
 * MDT_SMTP_USER / MDT_SMTP_PASSWORD. Sending blocks for up to
 * MDT_SMTP_TIMEOUT_S: call it on a worker thread, never on the loop.
 * docs/operations.md "Email". */
#ifndef MDT_SMTP_H
#define MDT_SMTP_H

#include <stddef.h>

#include "config.h"

#define MDT_SMTP_TIMEOUT_S   30
#define MDT_SMTP_ADDRESS_MAX 254

/* Checks cfg's SMTP settings (nothing to check without MDT_SMTP_URL):
 * scheme smtp or smtps, a host, plain SMTP only as above, MDT_SMTP_FROM a
 * valid address. 0 ok, -1 with a message in err. */
int mdt_smtp_check(const mdt_config_t *cfg, char *err, size_t errlen);

/* Is s a plain address local@domain we will put in a header: at most 254
 * bytes of printable ASCII, no spaces, quotes, angle brackets, commas or
 * line ends; a local part of 1-64 bytes; a domain of dot-separated labels
 * of letters, digits and hyphens? 1 yes, 0 no. */
int mdt_smtp_valid_address(const char *s);

/* Once per process, before any thread sends (curl_global_init). 0 ok. */
int mdt_smtp_global_init(void);
void mdt_smtp_global_cleanup(void);

/* A text/plain UTF-8 message from cfg's From to `to` with subject and body
 * (both ours, no line ends in subject). malloc'ed, caller frees; NULL when
 * out of memory. Lines end CRLF. */
char *mdt_smtp_message(const mdt_config_t *cfg, const char *to, const char *subject,
                       const char *body);

/* Any thread but the loop: sends message (from mdt_smtp_message) to `to`
 * through cfg's relay. 0 accepted by the relay; -1 with a reason in err
 * (curl's error text: never the message or credentials). */
int mdt_smtp_send(const mdt_config_t *cfg, const char *to, const char *message, char *err,
                  size_t errlen);

#endif
