/* systemd's service notification protocol (sd_notify(3)), without
 * libsystemd: one datagram per message to the AF_UNIX socket named in
 * $NOTIFY_SOCKET ("/path", or "@name" for the abstract namespace), the
 * message being newline-separated VAR=value lines (READY=1, STATUS=...,
 * STOPPING=1, WATCHDOG=1). Without $NOTIFY_SOCKET every call is a no-op. */
#ifndef VPIPE_KERNEL_NOTIFY_H
#define VPIPE_KERNEL_NOTIFY_H

#include <stdbool.h>
#include <stdint.h>

/* Open the socket named by $NOTIFY_SOCKET, once; later calls do nothing. */
void vp_notify_init(void);
bool vp_notify_enabled(void);
/* Send one message (printf-style). Failures are ignored: the service
 * manager going away must not stop the graph. */
void vp_notify(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* The watchdog interval systemd asks for ($WATCHDOG_USEC, when
 * $WATCHDOG_PID is unset or names this process), in ns; 0: none. */
int64_t vp_notify_watchdog_ns(void);
#endif
