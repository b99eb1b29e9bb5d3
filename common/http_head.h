/* Where an HTTP/1.1 or RTSP/1.0 message head ends (RFC 9112 section 2.2,
 * RFC 2326 section 4): both protocols end it with an empty line, and both
 * tolerate bare LF line ends from peers that send them. */
#ifndef VPIPE_COMMON_HTTP_HEAD_H
#define VPIPE_COMMON_HTTP_HEAD_H

#include <stddef.h>

/* Length of the head in buf[0..len), up to and including the empty line
 * ("\r\n\r\n" or "\n\n", or the two mixed), or 0 when it is not complete
 * yet. */
size_t http_head_length(const void *buf, size_t len);

#endif
