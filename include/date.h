/* SPDX-License-Identifier: ISC */
/*
 * date.h - the one writer of an RFC 5322 section 3.3 date-time, as in a
 * Date: or Received: header and the date fields of a delivery status
 * notification (RFC 3464 2.1.5): "Thu, 04 Dec 2026 09:30:00 +0100", in
 * the local zone, with English names whatever the locale.
 *
 * The other dates tern writes are not this kind and stay with their
 * owners: the mbox "From " line (mailbox.c), ternq's and mailq's
 * listings (main_ternq.c, queuelist.c) and the log stamp (log.c).
 */
#ifndef TERN_DATE_H
#define TERN_DATE_H

#include <stddef.h>
#include <time.h>

/* date_rfc5322 - t as above into buf (32 bytes are enough) */
void	date_rfc5322(time_t t, char *buf, size_t len);

#endif
