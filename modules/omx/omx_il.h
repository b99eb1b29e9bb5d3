/* The OpenMAX IL headers, as the module and its core agree on them.
 *
 * Broadcom's libopenmaxil.so on 32-bit Raspberry Pi OS is built with
 * OMX_SKIP64BIT: OMX_TICKS is then a pair of 32-bit halves, which changes
 * the layout of OMX_BUFFERHEADERTYPE on 32-bit ARM. Match it there. */
#ifndef VPIPE_OMX_IL_H
#define VPIPE_OMX_IL_H

#if defined(__arm__) && !defined(OMX_SKIP64BIT)
#define OMX_SKIP64BIT
#endif

#include <OMX_Component.h>
#include <OMX_Core.h>
#include <OMX_Index.h>
#include <OMX_Video.h>

#include <stdint.h>
#include <string.h>

static inline int64_t omx_ticks_get(OMX_TICKS t)
{
#ifdef OMX_SKIP64BIT
	return (int64_t)(((uint64_t)t.nHighPart << 32) | t.nLowPart);
#else
	return t;
#endif
}

static inline OMX_TICKS omx_ticks_make(int64_t us)
{
#ifdef OMX_SKIP64BIT
	OMX_TICKS t = {.nLowPart = (OMX_U32)(uint64_t)us,
		       .nHighPart = (OMX_U32)((uint64_t)us >> 32)};
	return t;
#else
	return us;
#endif
}

/* Every IL structure starts with its size and the IL version (1.1.2). */
#define OMX_INIT_STRUCT(st)                                                    \
	do {                                                                   \
		memset(&(st), 0, sizeof(st));                                  \
		(st).nSize = sizeof(st);                                       \
		(st).nVersion.s.nVersionMajor = 1;                             \
		(st).nVersion.s.nVersionMinor = 1;                             \
		(st).nVersion.s.nRevision = 2;                                 \
		(st).nVersion.s.nStep = 0;                                     \
	} while (0)

#endif
