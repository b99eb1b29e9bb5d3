/* Names of OpenMAX IL values; see omx_names.h. */
#include "omx_names.h"

#include <stdio.h>

#include <OMX_Core.h>

#define NAME(x)                                                                \
	case x:                                                                \
		return #x

static const char *unknown(uint32_t v)
{
	static _Thread_local char buf[24];

	snprintf(buf, sizeof(buf), "0x%08x", (unsigned)v);
	return buf;
}

const char *omx_error_name(uint32_t err)
{
	switch ((OMX_ERRORTYPE)err) {
		NAME(OMX_ErrorNone);
		NAME(OMX_ErrorInsufficientResources);
		NAME(OMX_ErrorUndefined);
		NAME(OMX_ErrorInvalidComponentName);
		NAME(OMX_ErrorComponentNotFound);
		NAME(OMX_ErrorInvalidComponent);
		NAME(OMX_ErrorBadParameter);
		NAME(OMX_ErrorNotImplemented);
		NAME(OMX_ErrorUnderflow);
		NAME(OMX_ErrorOverflow);
		NAME(OMX_ErrorHardware);
		NAME(OMX_ErrorInvalidState);
		NAME(OMX_ErrorStreamCorrupt);
		NAME(OMX_ErrorPortsNotCompatible);
		NAME(OMX_ErrorResourcesLost);
		NAME(OMX_ErrorNoMore);
		NAME(OMX_ErrorVersionMismatch);
		NAME(OMX_ErrorNotReady);
		NAME(OMX_ErrorTimeout);
		NAME(OMX_ErrorSameState);
		NAME(OMX_ErrorResourcesPreempted);
		NAME(OMX_ErrorPortUnresponsiveDuringAllocation);
		NAME(OMX_ErrorPortUnresponsiveDuringDeallocation);
		NAME(OMX_ErrorPortUnresponsiveDuringStop);
		NAME(OMX_ErrorIncorrectStateTransition);
		NAME(OMX_ErrorIncorrectStateOperation);
		NAME(OMX_ErrorUnsupportedSetting);
		NAME(OMX_ErrorUnsupportedIndex);
		NAME(OMX_ErrorBadPortIndex);
		NAME(OMX_ErrorPortUnpopulated);
		NAME(OMX_ErrorComponentSuspended);
		NAME(OMX_ErrorDynamicResourcesUnavailable);
		NAME(OMX_ErrorMbErrorsInFrame);
		NAME(OMX_ErrorFormatNotDetected);
		NAME(OMX_ErrorContentPipeOpenFailed);
		NAME(OMX_ErrorContentPipeCreationFailed);
		NAME(OMX_ErrorSeperateTablesUsed);
		NAME(OMX_ErrorTunnelingUnsupported);
	default:
		return unknown(err);
	}
}

const char *omx_state_name(uint32_t state)
{
	switch ((OMX_STATETYPE)state) {
		NAME(OMX_StateInvalid);
		NAME(OMX_StateLoaded);
		NAME(OMX_StateIdle);
		NAME(OMX_StateExecuting);
		NAME(OMX_StatePause);
		NAME(OMX_StateWaitForResources);
	default:
		return unknown(state);
	}
}

const char *omx_event_name(uint32_t event)
{
	switch ((OMX_EVENTTYPE)event) {
		NAME(OMX_EventCmdComplete);
		NAME(OMX_EventError);
		NAME(OMX_EventMark);
		NAME(OMX_EventPortSettingsChanged);
		NAME(OMX_EventBufferFlag);
		NAME(OMX_EventResourcesAcquired);
		NAME(OMX_EventComponentResumed);
		NAME(OMX_EventDynamicResourcesAvailable);
		NAME(OMX_EventPortFormatDetected);
	default:
		return unknown(event);
	}
}
