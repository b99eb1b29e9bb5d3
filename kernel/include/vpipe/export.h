/* vpipe public API: symbol visibility.
 *
 * The kernel and the modules are built with -fvisibility=hidden: a symbol
 * is exported only when its declaration says so. VPIPE_API marks the
 * functions of the documented API; nothing else leaves libvpipe, so a
 * rename inside the kernel is never an ABI change. A module exports only
 * its descriptor (VPIPE_MODULE in <vpipe/module.h> marks it).
 */
#ifndef VPIPE_EXPORT_H
#define VPIPE_EXPORT_H

#if defined(__GNUC__) || defined(__clang__)
#define VPIPE_API __attribute__((visibility("default")))
#else
#define VPIPE_API
#endif

#endif
