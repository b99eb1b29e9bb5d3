/* Names of OpenMAX IL values for messages: OMX_ErrorHardware, not
 * 0x80001009. */
#ifndef VPIPE_OMX_NAMES_H
#define VPIPE_OMX_NAMES_H

#include <stdint.h>

/* "OMX_ErrorBadParameter"; for an unknown value, a hex number in a static
 * per-thread buffer. */
const char *omx_error_name(uint32_t err);
const char *omx_state_name(uint32_t state);
const char *omx_event_name(uint32_t event);

#endif
